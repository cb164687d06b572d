/**
 * Speech-to-speech calls over real SIP for tests: the call harness (two in-process user agents, real RTP)
 * with a realtime agent, a `PhoneLine` on the caller's side, and small waits. Everything started is
 * registered with the caller's cleanup list (closed in reverse order after each test).
 */
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import type { CallEvent } from '../../src/call/call-events.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { Vad } from '../../src/vad/vad.ts';
import { EnergyVad } from '../../src/vad/energy-vad.ts';
import { startCallHarness, type CallHarness, type Codec, type Phone } from './call-harness.ts';
import { PhoneLine } from './realtime-call-phone.ts';

export type Cleanup = Array<() => Promise<void> | void>;

export interface RealtimeCall {
  readonly h: CallHarness;
  readonly phone: Phone;
  readonly line: PhoneLine;
  /** The call's events so far. */
  events(): CallEvent[];
  /** The gateway's call id. */
  readonly callId: string;
}

/** Dial a realtime agent over SIP and wait until the call is answered; the line starts sending silence. */
export async function dialRealtime(
  cleanup: Cleanup,
  agent: AgentRuntime,
  o: { codecs?: readonly Codec[]; vad?: Vad; logger?: Logger; startLine?: boolean; tagLine?: boolean; acceptRefer?: boolean } = {},
): Promise<RealtimeCall> {
  const h = await startCallHarness({
    agent,
    vad: o.vad ?? new EnergyVad(),
    gatewayCodecs: o.codecs ?? ['PCMU'],
    logger: o.logger ?? silentLogger(),
    acceptRefer: o.acceptRefer ?? false,
  });
  cleanup.push(() => h.close());
  const phone = await h.dial();
  const line = new PhoneLine(phone.leg, { tag: o.tagLine ?? false });
  cleanup.push(() => line.stop());
  cleanup.push(() => phone.leg.hangup().catch(() => undefined));
  await until(() => h.events.some((e) => e.event.type === 'answered'), 5000, 'answered');
  if (o.startLine !== false) line.start();
  return { h, phone, line, events: () => h.events.map((e) => e.event), callId: h.events[0]?.callId ?? '' };
}

/** Poll `pred` every 10 ms; on time-out the error carries `info()` (what the test saw). */
export async function until(pred: () => boolean, ms: number, what: string, info?: () => unknown): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms${info === undefined ? '' : `: ${JSON.stringify(info())}`}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
