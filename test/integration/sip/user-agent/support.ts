import dgram from 'node:dgram';
import { CallroomError } from '../../../../src/core/errors.ts';
import { configSchema, type Config } from '../../../../src/config/schema.ts';
import type { NegotiatedAudio } from '../../../../src/sip/sdp/negotiate.ts';
import type { SipCall } from '../../../../src/sip/user-agent/call-types.ts';
import type { SipMediaEndpoint, SipMediaFactory } from '../../../../src/sip/user-agent/media-endpoint.ts';
import { createSipUserAgent, type SipUserAgent, type SipUserAgentOptions } from '../../../../src/sip/user-agent/sip-user-agent.ts';
import { describeSippResult, runSipp, startSipp, type SippOptions, type SippResult, type SippTransport } from '../../../support/sip-peers/sipp.ts';

/** A media endpoint on a real UDP socket of 127.0.0.1 that counts what arrives (no RTP stack). */
export class SocketEndpoint implements SipMediaEndpoint {
  readonly address = '127.0.0.1';
  readonly port: number;
  readonly configured: NegotiatedAudio[] = [];
  received = 0;
  closed = false;
  readonly #socket: dgram.Socket;

  constructor(socket: dgram.Socket) {
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', () => this.received++);
  }

  configure(audio: NegotiatedAudio): void {
    this.configured.push(audio);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#socket.close();
  }
}

/**
 * A SipMediaFactory over a pool of UDP sockets bound in advance (allocate is synchronous, binding
 * is not); an empty pool throws like exhausted RTP ports.
 */
export class SocketMediaFactory implements SipMediaFactory {
  readonly endpoints: SocketEndpoint[] = [];
  readonly #pool: dgram.Socket[] = [];

  static async create(size = 8): Promise<SocketMediaFactory> {
    const f = new SocketMediaFactory();
    for (let i = 0; i < size; i++) {
      const s = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      f.#pool.push(s);
    }
    return f;
  }

  allocate(): SipMediaEndpoint {
    const s = this.#pool.shift();
    if (s === undefined) throw new CallroomError('CR_RTP_PORTS_EXHAUSTED', 'no free RTP port');
    const e = new SocketEndpoint(s);
    this.endpoints.push(e);
    return e;
  }

  close(): void {
    for (const s of this.#pool.splice(0)) s.close();
    for (const e of this.endpoints) e.close();
  }

  get open(): number {
    return this.endpoints.filter((e) => !e.closed).length;
  }
}

export interface LiveUa {
  readonly ua: SipUserAgent;
  readonly media: SocketMediaFactory;
  readonly config: Config['sip'];
  readonly calls: SipCall[];
  /** Our listening port for a SIPp transport. */
  port(transport: SippTransport): number;
  close(): Promise<void>;
}

/**
 * A user agent on real UDP and TCP listeners (127.0.0.1, ports chosen by the OS), configured through
 * the config schema, trusting 127.0.0.1 as trunk "local" unless told otherwise.
 */
export async function startUa(
  sip: Record<string, unknown> = {},
  options: Partial<Omit<SipUserAgentOptions, 'config' | 'media'>> & { onCall?: (call: SipCall) => void } = {},
): Promise<LiveUa> {
  const config = configSchema.parse({
    sip: {
      listen: [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      trunks: [{ name: 'local', cidrs: ['127.0.0.1/32'] }],
      ...sip,
    },
  }).sip;
  const media = await SocketMediaFactory.create();
  const { onCall, ...rest } = options;
  const ua = await createSipUserAgent({ config, media, closeTimeoutMs: 2_000, ...rest });
  const calls: SipCall[] = [];
  ua.onCall((call) => {
    calls.push(call);
    onCall?.(call);
  });
  return {
    ua,
    media,
    config,
    calls,
    port(transport) {
      const t = transport.startsWith('t') ? 'tcp' : 'udp';
      const e = ua.endpoints().find((x) => x.transport === t);
      if (e === undefined) throw new Error(`no ${t} listener`);
      return e.bound.port;
    },
    async close() {
      await ua.close();
      media.close();
    },
  };
}

/** Runs a SIPp client scenario against the user agent and returns its result. */
export function sippAgainst(live: LiveUa, transport: SippTransport, scenario: SippOptions['scenario'], extra: Partial<SippOptions> = {}): Promise<SippResult> {
  return runSipp({ scenario, transport, target: `127.0.0.1:${live.port(transport)}`, service: 'agent', timeoutMs: 20_000, ...extra });
}

export { describeSippResult, startSipp };

/** Resolves when `predicate` holds (polled), or rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
