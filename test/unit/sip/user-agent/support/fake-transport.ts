import type { FakeClock } from '../../../../../src/core/clock.ts';
import { parseMessage } from '../../../../../src/sip/message/parse-message.ts';
import type { SipMessage } from '../../../../../src/sip/message/sip-message.ts';
import type {
  Destination, LocalEndpoint, MessageReceiver, MessageSource, SendResult, SocketAddress, Transport, TransportProtocol,
} from '../../../../../src/sip/transport/transport.ts';

/** One message the user agent put on the (fake) wire, re-parsed the way a peer would read it. */
export interface WireMessage {
  readonly at: number;
  readonly message: SipMessage;
  readonly text: string;
  /** Where a request went (undefined for responses routed back to a source). */
  readonly destination?: Destination;
  readonly source?: MessageSource;
}

export const LOCAL: SocketAddress = { address: '127.0.0.1', port: 5060, family: 'IPv4' };

/**
 * An in-memory Transport: what the user agent sends is serialised and parsed again (so tests see
 * exactly the wire form), and tests deliver peer messages as text. Both UDP and TCP "listen" on
 * 127.0.0.1:5060.
 */
export class FakeTransport implements Transport {
  readonly wire: WireMessage[] = [];
  #receiver: MessageReceiver | undefined;
  readonly #clock: FakeClock;
  closed = false;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  #record(message: SipMessage, extra: { destination?: Destination; source?: MessageSource }): void {
    // §18.1.1: the transport fills the top Via sent-by of requests.
    const text = message.toString();
    const parsed = parseMessage(Buffer.from(text));
    if (!parsed.ok) throw new Error(`the user agent sent something unparseable: ${parsed.error.reason}\n${text}`);
    this.wire.push({ at: this.#clock.now(), message: parsed.message, text, ...extra });
  }

  send(message: SipMessage, destination: Destination): Promise<SendResult> {
    this.#record(message, { destination });
    return Promise.resolve({ ok: true, destination });
  }

  sendResponse(response: SipMessage, source: MessageSource): Promise<SendResult> {
    this.#record(response, { source });
    return Promise.resolve({ ok: true, destination: { transport: source.transport, address: source.remote.address, port: source.remote.port } });
  }

  setReceiver(receiver: MessageReceiver): void {
    this.#receiver = receiver;
  }

  isConnectionOpen(): boolean {
    return true;
  }

  endpoints(): readonly LocalEndpoint[] {
    return (['udp', 'tcp'] as const).map((transport) => ({ transport, bound: LOCAL, advertisedHost: '127.0.0.1', advertisedPort: 5060 }));
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Delivers wire text as if it arrived from `from` (parsed like the real transport, received stamped). */
  deliver(text: string, from: { address?: string; port?: number; transport?: TransportProtocol } = {}): void {
    const parsed = parseMessage(Buffer.from(text));
    if (!parsed.ok) throw new Error(`test message does not parse: ${parsed.error.reason}\n${text}`);
    const source: MessageSource = {
      transport: from.transport ?? 'udp',
      remote: { address: from.address ?? '127.0.0.1', port: from.port ?? 5070, family: 'IPv4' },
      local: LOCAL,
    };
    this.#receiver?.({ message: parsed.message, source });
  }

  /** Messages on the wire whose start line begins with `prefix` ('INVITE', 'SIP/2.0 200', 'BYE'). */
  of(prefix: string): WireMessage[] {
    return this.wire.filter((w) => w.text.startsWith(prefix));
  }

  last(prefix: string): WireMessage {
    const all = this.of(prefix);
    const m = all[all.length - 1];
    if (m === undefined) throw new Error(`nothing starting with "${prefix}" was sent; sent:\n${this.wire.map((w) => w.text.split('\r\n')[0]).join('\n')}`);
    return m;
  }

  /** Start lines sent so far (for assertions and failure messages). */
  lines(): string[] {
    return this.wire.map((w) => w.text.split('\r\n')[0] as string);
  }
}
