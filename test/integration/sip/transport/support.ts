import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import type { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import type { IncomingMessage } from '../../../../src/sip/transport/transport.ts';
import type { SipTransport } from '../../../../src/sip/transport/sip-transport.ts';

export const FAMILIES = [
  { name: 'IPv4', host: '127.0.0.1', udp: 'udp4' as const },
  { name: 'IPv6', host: '::1', udp: 'udp6' as const },
];

/** Waits until `check` returns a value, polling; fails after `ms`. */
export async function waitFor<T>(check: () => T | undefined, ms = 3_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A SIP request text (CRLF line ends) with a correct Content-Length. */
export function requestText(options: {
  method?: string;
  via: string;
  callId?: string;
  cseq?: number;
  body?: string;
  extra?: readonly string[];
  uri?: string;
}): string {
  const method = options.method ?? 'OPTIONS';
  const body = options.body ?? '';
  return [
    `${method} ${options.uri ?? 'sip:agent@127.0.0.1'} SIP/2.0`,
    `Via: ${options.via}`,
    'Max-Forwards: 70',
    'From: <sip:peer@127.0.0.1>;tag=pt1',
    'To: <sip:agent@127.0.0.1>',
    `Call-ID: ${options.callId ?? 'it-call-1'}`,
    `CSeq: ${options.cseq ?? 1} ${method}`,
    ...(options.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

export function parse(data: Buffer | string): SipMessage {
  const o = parseMessage(typeof data === 'string' ? Buffer.from(data) : data);
  if (!o.ok) throw new Error(`does not parse: ${o.error.reason}`);
  return o.message;
}

/** A raw UDP peer that records what it receives. */
export class UdpPeer {
  readonly socket: UdpSocket;
  readonly received: { data: Buffer; port: number; address: string }[] = [];

  private constructor(socket: UdpSocket) {
    this.socket = socket;
    socket.on('message', (data, rinfo) => this.received.push({ data, port: rinfo.port, address: rinfo.address }));
  }

  static async open(type: 'udp4' | 'udp6', host: string, port = 0): Promise<UdpPeer> {
    const socket = createSocket({ type, ipv6Only: type === 'udp6' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => resolve());
    });
    return new UdpPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: string | Buffer, port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, host, (err) => (err ? reject(err) : resolve())));
  }

  messages(): SipMessage[] {
    return this.received.map((r) => parse(r.data));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/** A raw TCP client that accumulates what it receives. */
export class TcpPeer {
  readonly socket: Socket;
  data = '';
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.data += d;
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  static async connect(host: string, port: number): Promise<TcpPeer> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => resolve());
    });
    return new TcpPeer(socket);
  }

  static adopt(socket: Socket): TcpPeer {
    return new TcpPeer(socket);
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Complete messages received so far (split by Content-Length). */
  messages(): SipMessage[] {
    const out: SipMessage[] = [];
    let rest = this.data;
    for (;;) {
      rest = rest.replace(/^(\r\n)+/, '');
      const end = rest.indexOf('\r\n\r\n');
      if (end < 0) return out;
      const len = Number(/\r\nContent-Length: *(\d+)/i.exec(rest.slice(0, end + 2))?.[1] ?? '0');
      if (rest.length < end + 4 + len) return out;
      out.push(parse(Buffer.from(rest.slice(0, end + 4 + len), 'latin1')));
      rest = rest.slice(end + 4 + len);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A raw TCP server standing in for a peer that we connect to. */
export class TcpServerPeer {
  readonly server: Server;
  readonly peers: TcpPeer[] = [];

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (s) => this.peers.push(TcpPeer.adopt(s)));
  }

  static async listen(host: string, port = 0): Promise<TcpServerPeer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve());
    });
    return new TcpServerPeer(server);
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  close(): Promise<void> {
    for (const p of this.peers) p.close();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Collects what the transport delivers. */
export function collect(transport: SipTransport): IncomingMessage[] {
  const got: IncomingMessage[] = [];
  transport.setReceiver((m) => got.push(m));
  return got;
}

/** Socket-like handles node holds open (to prove `close()` leaves none behind). */
export function openHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'TCPWrap' || r === 'TCPServerWrap' || r === 'TCPSocketWrap').length;
}
