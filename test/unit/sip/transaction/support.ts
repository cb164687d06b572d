import { FakeClock } from '../../../../src/core/clock.ts';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import type { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import { TransactionLayer, type TransactionLayerOptions } from '../../../../src/sip/transaction/transaction-layer.ts';
import type { ClientTransaction, ServerTransaction, Transaction, TransactionUser } from '../../../../src/sip/transaction/transaction-user.ts';
import type { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction.ts';
import { SipTransportError } from '../../../../src/sip/transport/transport-error.ts';
import type {
  Destination, LocalEndpoint, MessageReceiver, MessageSource, SendResult, Transport, TransportProtocol,
} from '../../../../src/sip/transport/transport.ts';

/** One message the fake transport was asked to send, with the fake time it was sent at. */
export interface Sent {
  readonly at: number;
  readonly kind: 'send' | 'response';
  readonly message: SipMessage;
  /** The wire text at the moment of sending. */
  readonly text: string;
  readonly destination?: Destination;
  readonly source?: MessageSource;
}

/** A Transport that records sends and lets a test deliver messages; can be told to fail sends. */
export class FakeTransport implements Transport {
  readonly sent: Sent[] = [];
  receiver: MessageReceiver | undefined;
  failWith: SipTransportError | undefined;
  readonly #clock: FakeClock;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  send(message: SipMessage, destination: Destination): Promise<SendResult> {
    this.sent.push({ at: this.#clock.now(), kind: 'send', message, text: message.toString(), destination });
    if (this.failWith !== undefined) return Promise.resolve({ ok: false, error: this.failWith });
    return Promise.resolve({ ok: true, destination, ...(destination.transport === 'tcp' ? { connectionId: 7 } : {}) });
  }

  sendResponse(response: SipMessage, source: MessageSource): Promise<SendResult> {
    this.sent.push({ at: this.#clock.now(), kind: 'response', message: response, text: response.toString(), source });
    if (this.failWith !== undefined) return Promise.resolve({ ok: false, error: this.failWith });
    return Promise.resolve({ ok: true, destination: { transport: source.transport, address: source.remote.address, port: source.remote.port } });
  }

  setReceiver(receiver: MessageReceiver): void {
    this.receiver = receiver;
  }

  isConnectionOpen(): boolean {
    return true;
  }

  endpoints(): readonly LocalEndpoint[] {
    const bound = { address: '127.0.0.1', port: 5060, family: 'IPv4' as const };
    return [
      { transport: 'udp', bound, advertisedHost: '127.0.0.1', advertisedPort: 5060 },
      { transport: 'tcp', bound, advertisedHost: '127.0.0.1', advertisedPort: 5060 },
    ];
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers a message as if received from `source`. */
  deliver(message: SipMessage, source: MessageSource): void {
    this.receiver?.({ message, source });
  }

  /** Sent messages whose start line starts with `prefix` (`INVITE`, `SIP/2.0 180`, `ACK`). */
  of(prefix: string): Sent[] {
    return this.sent.filter((s) => s.text.startsWith(prefix));
  }
}

/** Every TransactionUser call, in order. */
export type UserEvent =
  | { type: 'request'; tx: ServerTransaction; request: SipMessage }
  | { type: 'ack'; ack: SipMessage; tx: InviteServerTransaction | undefined }
  | { type: 'cancel'; cancel: SipMessage; tx: InviteServerTransaction }
  | { type: 'response'; response: SipMessage; tx: ClientTransaction }
  | { type: 'timeout'; tx: Transaction }
  | { type: 'transportError'; tx: Transaction; error: SipTransportError }
  | { type: 'stray'; response: SipMessage }
  | { type: 'terminated'; tx: Transaction };

export class RecordingUser implements TransactionUser {
  readonly events: UserEvent[] = [];
  /** Screening hook (TransactionUser.admit), when a test sets one. */
  admit: TransactionUser['admit'];
  /** Runs inside onRequest (to answer synchronously). */
  onRequestHook: ((tx: ServerTransaction, request: SipMessage) => void) | undefined;

  onRequest(tx: ServerTransaction, request: SipMessage): void {
    this.events.push({ type: 'request', tx, request });
    this.onRequestHook?.(tx, request);
  }
  onAck(ack: SipMessage, _source: MessageSource, tx: InviteServerTransaction | undefined): void {
    this.events.push({ type: 'ack', ack, tx });
  }
  onCancel(cancel: SipMessage, tx: InviteServerTransaction): void {
    this.events.push({ type: 'cancel', cancel, tx });
  }
  onResponse(response: SipMessage, tx: ClientTransaction): void {
    this.events.push({ type: 'response', response, tx });
  }
  onTimeout(tx: Transaction): void {
    this.events.push({ type: 'timeout', tx });
  }
  onTransportError(tx: Transaction, error: SipTransportError): void {
    this.events.push({ type: 'transportError', tx, error });
  }
  onStrayResponse(response: SipMessage): void {
    this.events.push({ type: 'stray', response });
  }
  onTerminated(tx: Transaction): void {
    this.events.push({ type: 'terminated', tx });
  }

  of<T extends UserEvent['type']>(type: T): Extract<UserEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<UserEvent, { type: T }> => e.type === type);
  }
}

export interface Harness {
  clock: FakeClock;
  transport: FakeTransport;
  user: RecordingUser;
  layer: TransactionLayer;
}

export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

export function harness(options: Partial<Omit<TransactionLayerOptions, 'transport' | 'user' | 'clock'>> = {}): Harness {
  const clock = new FakeClock(1_000);
  const transport = new FakeTransport(clock);
  const user = new RecordingUser();
  const layer = new TransactionLayer({ transport, user, clock, timers: { t1: T1, t2: T2, t4: T4 }, ...options });
  return { clock, transport, user, layer };
}

export function source(transport: TransportProtocol = 'udp', port = 5070): MessageSource {
  return {
    transport,
    remote: { address: '127.0.0.1', port, family: 'IPv4' },
    local: { address: '127.0.0.1', port: 5060, family: 'IPv4' },
    ...(transport === 'tcp' ? { connectionId: 3 } : {}),
  };
}

export function destination(transport: TransportProtocol = 'udp'): Destination {
  return { transport, address: '127.0.0.1', port: 5070 };
}

/** Parses wire text (lines joined with CRLF); throws in the test when it does not parse. */
export function msg(lines: readonly string[], body = ''): SipMessage {
  const text = `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const outcome = parseMessage(Buffer.from(text));
  if (!outcome.ok) throw new Error(`test message does not parse: ${outcome.error.reason}`);
  return outcome.message;
}

export interface RequestSpec {
  method?: string;
  branch?: string;
  sentBy?: string;
  transport?: 'UDP' | 'TCP';
  cseq?: number;
  callId?: string;
  fromTag?: string;
  toTag?: string;
  uri?: string;
  extra?: readonly string[];
}

/** A request as a peer would send it. */
export function request(spec: RequestSpec = {}): SipMessage {
  const method = spec.method ?? 'INVITE';
  const branch = spec.branch === undefined ? ';branch=z9hG4bKpeer1' : spec.branch === '' ? '' : `;branch=${spec.branch}`;
  return msg([
    `${method} ${spec.uri ?? 'sip:agent@127.0.0.1:5060'} SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '127.0.0.1:5070'}${branch}`,
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1>;tag=${spec.fromTag ?? 'ft1'}`,
    `To: <sip:agent@127.0.0.1>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? 'call-1@127.0.0.1'}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
    'Contact: <sip:caller@127.0.0.1:5070>',
    ...(spec.extra ?? []),
  ]);
}

/** A request we send (no Via: the layer adds it). */
export function outgoing(method = 'INVITE', extra: readonly string[] = []): SipMessage {
  return msg([
    `${method} sip:peer@127.0.0.1:5070 SIP/2.0`,
    'Max-Forwards: 70',
    'From: <sip:agent@127.0.0.1>;tag=ours1',
    'To: <sip:peer@127.0.0.1>',
    'Call-ID: out-1@127.0.0.1',
    `CSeq: 1 ${method}`,
    'Contact: <sip:agent@127.0.0.1:5060>',
    ...extra,
  ]);
}

/** The response a peer would send to the request we sent (`sent` is what went on the wire). */
export function responseTo(sentText: string, status: number, toTag = 'peer-tag'): SipMessage {
  const parsed = parseMessage(Buffer.from(sentText));
  if (!parsed.ok) throw new Error('sent message does not parse');
  const req = parsed.message;
  const lines = [`SIP/2.0 ${status} Whatever`];
  for (const v of req.lines('via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.get('from') ?? ''}`);
  lines.push(`To: ${req.get('to') ?? ''}${status > 100 ? `;tag=${toTag}` : ''}`);
  lines.push(`Call-ID: ${req.callId ?? ''}`);
  lines.push(`CSeq: ${req.cseq?.seq ?? 0} ${req.cseq?.method ?? ''}`);
  return msg(lines);
}

/** Lets the fake transport's resolved send promises run their continuations. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
