import type { WireMessage } from './fake-transport.ts';

/** An SDP body as a peer would offer or answer it. */
export function sdp(options: { port?: number; payloads?: readonly number[]; direction?: string; address?: string; version?: number } = {}): string {
  const payloads = options.payloads ?? [0, 8, 101];
  const address = options.address ?? '127.0.0.1';
  const lines = [
    'v=0',
    `o=peer 42 ${options.version ?? 1} IN IP4 ${address}`,
    's=-',
    `c=IN IP4 ${address}`,
    't=0 0',
    `m=audio ${options.port ?? 40_000} RTP/AVP ${payloads.join(' ')}`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:101 telephone-event/8000',
    'a=ptime:20',
    `a=${options.direction ?? 'sendrecv'}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

function message(startLine: string, headers: readonly string[], body = '', contentType?: string): string {
  const all = [...headers];
  if (body.length > 0 && contentType !== undefined) all.push(`Content-Type: ${contentType}`);
  all.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${startLine}\r\n${all.join('\r\n')}\r\n\r\n${body}`;
}

/** Every value of header `name` in a wire message, comma-joined ('' when absent). */
export function header(w: WireMessage, name: string): string {
  return w.message.lines(name).join(', ');
}

/**
 * A scripted SIP peer (the caller, or the callee of an outbound call) at 127.0.0.1:5070 that
 * writes requests and responses as wire text for `FakeTransport.deliver`.
 */
export class Peer {
  readonly callId: string;
  readonly fromTag: string;
  readonly address: string;
  readonly port: number;
  readonly transport: 'UDP' | 'TCP';
  /** Our To tag as the UAS (when the peer answers our INVITE). */
  readonly toTag = 'peer-tag';
  cseq = 1;
  #branch = 0;

  constructor(options: { callId?: string; fromTag?: string; address?: string; port?: number; transport?: 'UDP' | 'TCP' } = {}) {
    this.callId = options.callId ?? `call-${Math.random().toString(36).slice(2)}@peer`;
    this.fromTag = options.fromTag ?? 'caller-tag';
    this.address = options.address ?? '127.0.0.1';
    this.port = options.port ?? 5070;
    this.transport = options.transport ?? 'UDP';
  }

  /** A branch unique to this peer (peers in one test must not collide on transaction keys). */
  nextBranch(): string {
    return `z9hG4bK${this.callId.replace(/[^A-Za-z0-9]/g, '').slice(0, 16)}x${++this.#branch}`;
  }

  /** The address as written in a URI or Via (IPv6 in brackets). */
  get host(): string {
    return this.address.includes(':') ? `[${this.address}]` : this.address;
  }

  #via(branch: string): string {
    return `Via: SIP/2.0/${this.transport} ${this.host}:${this.port};branch=${branch}`;
  }

  #dialogHeaders(method: string, seq: number, toTag: string | undefined, branch: string): string[] {
    return [
      this.#via(branch),
      'Max-Forwards: 70',
      `From: <sip:caller@${this.host}>;tag=${this.fromTag}`,
      `To: <sip:agent@127.0.0.1>${toTag === undefined ? '' : `;tag=${toTag}`}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${seq} ${method}`,
    ];
  }

  /** The initial INVITE (`branch` to reuse in a CANCEL). */
  invite(options: { sdp?: string; extra?: readonly string[]; branch?: string; uri?: string; seq?: number } = {}): string {
    const seq = options.seq ?? this.cseq;
    const branch = options.branch ?? this.nextBranch();
    return message(
      `INVITE ${options.uri ?? 'sip:agent@127.0.0.1:5060'} SIP/2.0`,
      [...this.#dialogHeaders('INVITE', seq, undefined, branch), `Contact: <sip:caller@${this.host}:${this.port}>`, ...(options.extra ?? [])],
      options.sdp ?? '',
      'application/sdp',
    );
  }

  /** CANCEL for the INVITE sent with `branch` (§9.1: same branch, CSeq number). */
  cancel(branch: string, seq = this.cseq): string {
    return message('CANCEL sip:agent@127.0.0.1:5060 SIP/2.0', this.#dialogHeaders('CANCEL', seq, undefined, branch));
  }

  /** ACK for a 2xx (its own branch) in the dialog the 2xx created. */
  ackFor(ok: WireMessage, options: { sdp?: string; seq?: number } = {}): string {
    const toTag = ok.message.to?.tag;
    return message(
      `ACK ${ok.message.contacts[0]?.uri.toString() ?? 'sip:agent@127.0.0.1:5060'} SIP/2.0`,
      this.#dialogHeaders('ACK', options.seq ?? ok.message.cseq?.seq ?? 1, toTag, this.nextBranch()),
      options.sdp ?? '',
      'application/sdp',
    );
  }

  /** A new request in the dialog whose local (UA) tag is `toTag`; bumps the CSeq. */
  request(method: string, toTag: string, options: { body?: string; contentType?: string; extra?: readonly string[]; seq?: number; branch?: string } = {}): string {
    const seq = options.seq ?? ++this.cseq;
    const contact = method === 'INVITE' || method === 'UPDATE' ? [`Contact: <sip:caller@${this.host}:${this.port}>`] : [];
    return message(
      `${method} sip:agent@127.0.0.1:5060 SIP/2.0`,
      [...this.#dialogHeaders(method, seq, toTag, options.branch ?? this.nextBranch()), ...contact, ...(options.extra ?? [])],
      options.body ?? '',
      options.contentType ?? 'application/sdp',
    );
  }

  /** A response to a request the user agent sent (Via, From, To, Call-ID, CSeq copied). */
  respond(to: WireMessage, status: number, options: { reason?: string; toTag?: string | null; body?: string; contentType?: string; extra?: readonly string[] } = {}): string {
    const req = to.message;
    const toTag = options.toTag === null ? undefined : (options.toTag ?? (status > 100 ? this.toTag : undefined));
    const toValue = req.get('to') ?? '';
    const headers = [
      ...req.lines('via').map((v) => `Via: ${v}`),
      `From: ${req.get('from') ?? ''}`,
      `To: ${toValue}${toTag !== undefined && req.to?.tag === undefined ? `;tag=${toTag}` : ''}`,
      `Call-ID: ${req.callId ?? ''}`,
      `CSeq: ${req.cseq?.seq ?? 0} ${req.cseq?.method ?? ''}`,
      ...(status >= 200 && status < 300 && (req.method === 'INVITE' || req.method === 'UPDATE') ? [`Contact: <sip:callee@${this.host}:${this.port}>`] : []),
      ...(options.extra ?? []),
    ];
    return message(`SIP/2.0 ${status} ${options.reason ?? 'Whatever'}`, headers, options.body ?? '', options.contentType ?? 'application/sdp');
  }
}

/** A source outside every trunk: for what the user agent does with strangers. */
export const STRANGER = { address: '192.0.2.66', port: 5060 };
