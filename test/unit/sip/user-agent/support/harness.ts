import { FakeClock } from '../../../../../src/core/clock.ts';
import { configSchema, type Config } from '../../../../../src/config/schema.ts';
import type { SipCall } from '../../../../../src/sip/user-agent/call-types.ts';
import { createSipUserAgent, type SipUserAgent, type SipUserAgentOptions } from '../../../../../src/sip/user-agent/sip-user-agent.ts';
import { FakeMediaFactory } from './fake-media.ts';
import { FakeTransport } from './fake-transport.ts';

export interface Harness {
  readonly clock: FakeClock;
  readonly transport: FakeTransport;
  readonly media: FakeMediaFactory;
  readonly ua: SipUserAgent;
  readonly config: Config['sip'];
  /** Every call `onCall` delivered, in order. */
  readonly calls: SipCall[];
}

/** T1 of the test config (the default). */
export const T1 = 500;

/**
 * A user agent over the fake transport and a FakeClock, configured through the real config schema
 * (so `Config['sip']` is what it takes). By default one trunk trusts 127.0.0.1 and every call is
 * collected in `calls` (pass `listen: false` to have no onCall listener).
 */
export async function harness(
  sip: Record<string, unknown> = {},
  options: Partial<Omit<SipUserAgentOptions, 'config' | 'media' | 'clock' | 'transport'>> & { listen?: boolean } = {},
): Promise<Harness> {
  const config = configSchema.parse({ sip: { trunks: [{ name: 'local', cidrs: ['127.0.0.1/32'] }], ...sip } }).sip;
  const clock = new FakeClock(1_000);
  const transport = new FakeTransport(clock);
  const media = new FakeMediaFactory();
  const { listen, ...rest } = options;
  const ua = await createSipUserAgent({ config, media, clock, transport, random: () => 0.5, ...rest });
  const calls: SipCall[] = [];
  if (listen !== false) ua.onCall((c) => calls.push(c));
  return { clock, transport, media, ua, config, calls };
}

/** Lets resolved promises run their continuations. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Advances the fake clock in steps, flushing microtasks between them. */
export async function advance(clock: FakeClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

/** End a test's user agent (afterEach): close it and let its transactions' timers run out. */
export async function closeHarness(h: Harness | undefined): Promise<void> {
  if (h === undefined) return;
  const closing = h.ua.close();
  await advance(h.clock, 4_000);
  await closing;
}
