import { systemClock, type Clock } from '../../core/clock.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { createResponse } from '../message/create-response.ts';
import { newTag } from '../message/ids.ts';
import type { SipParseOptions } from '../message/limits.ts';
import type { SipParseError } from '../message/parse-error.ts';
import { parseMessage } from '../message/parse-message.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { FramerEvent } from '../message/stream-framer.ts';
import type { Via } from '../message/via.ts';
import { advertise } from './advertise.ts';
import { fillVia } from './fill-via.ts';
import { canonicalIp, ipFamily } from './ip-address.ts';
import { DEFAULT_SIP_PORT, routeResponse } from './route-response.ts';
import { stampVia } from './stamp-via.ts';
import type { TcpConnection } from './tcp-connection.ts';
import { TcpConnectionPool } from './tcp-connection-pool.ts';
import { TcpListener } from './tcp-listener.ts';
import { SipTransportError } from './transport-error.ts';
import { countedMethod, emptyTransportStats, type TransportStats } from './transport-stats.ts';
import type {
  AddressFamily, Destination, LocalEndpoint, MessageReceiver, MessageSource, SendResult, SocketAddress, Transport, TransportProtocol,
} from './transport.ts';
import { UdpListener, type UdpBufferSizes } from './udp-listener.ts';

/** One listener: the shape of `sip.listen[]` in the config, plus what to advertise. */
export interface ListenSpec {
  readonly transport: TransportProtocol;
  /** IP literal to bind (`0.0.0.0`/`::` for all interfaces). */
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Host for Via sent-by (and the user agent's Contact) when the bound address is not what peers reach. */
  readonly publicHost?: string;
  readonly publicPort?: number;
}

/** Options of `createSipTransport`; the limits use the config's names (`sip.limits`). */
export interface SipTransportOptions {
  readonly listen: readonly ListenSpec[];
  readonly limits?: { readonly maxMessageBytes?: number; readonly maxHeaders?: number; readonly maxLineLength?: number };
  readonly tcp?: {
    /** Close a connection idle this long (default 120 s). */
    readonly idleTimeoutMs?: number;
    /** Give up opening a connection after this long (default 10 s). */
    readonly connectTimeoutMs?: number;
    /** Most open connections, inbound and outbound together (default 1024). */
    readonly maxConnections?: number;
    /** Most queued outgoing bytes on one connection before it is closed (default 1 MiB). */
    readonly maxWriteBuffer?: number;
  };
  /**
   * Kernel buffers of the UDP listeners. A burst of requests (hundreds of INVITEs, ACKs and BYEs a second) must
   * not overflow the receive buffer while the event loop is busy for a few milliseconds: every datagram dropped
   * there is a retransmission 500 ms later, and an ACK dropped often enough is a call torn down. Default
   * DEFAULT_UDP_BUFFERS; a request above net.core.rmem_max/wmem_max is capped by the kernel (logged once).
   */
  readonly udpBuffers?: UdpBufferSizes;
  /** Discard responses whose top Via sent-by is not one of ours (RFC 3261 §18.1.2); default true. */
  readonly checkResponseSentBy?: boolean;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * SIP UDP socket buffers by default: 4 MiB to receive (a few seconds of 500 calls/s signalling, where the
 * system default of about 200 KiB overflowed in a 100 ms pause of the event loop), 1 MiB to send.
 */
export const DEFAULT_UDP_BUFFERS: Required<{ readonly [K in keyof UdpBufferSizes]: number }> = Object.freeze({
  recvBufferSize: 4 * 1024 * 1024,
  sendBufferSize: 1024 * 1024,
});

/** Largest UDP payload over IPv4 (65535 - 8 UDP - 20 IP). */
const MAX_DATAGRAM = 65_507;
const CRLF = Buffer.from('\r\n');

interface UdpEndpoint extends LocalEndpoint {
  readonly listener: UdpListener;
}

/**
 * Opens every configured listener and returns the transport (RFC 3261 §18) the transaction layer
 * uses. Rejects (closing what it opened) when a listener cannot bind.
 */
export async function createSipTransport(options: SipTransportOptions): Promise<SipTransport> {
  const t = new SipTransport(options);
  try {
    await t.open(options.listen);
  } catch (err) {
    await t.close();
    throw err;
  }
  return t;
}

/**
 * UDP and TCP listeners over IPv4 and IPv6 behind one `Transport`. Receiving: parse (datagrams) or
 * frame (streams), answer unparseable requests 400/505/513 statelessly, stamp `received`/`rport`
 * on requests, discard responses not for us, hand the rest to the receiver. Sending: fill the top
 * Via of requests (§18.1.1), route responses (§18.2.2), reuse TCP connections. Never resolves DNS,
 * never throws out of a socket handler.
 */
export class SipTransport implements Transport {
  readonly stats: TransportStats = emptyTransportStats();
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #parse: SipParseOptions;
  readonly #checkSentBy: boolean;
  readonly #udpBuffers: UdpBufferSizes;
  readonly #udp: UdpEndpoint[] = [];
  readonly #tcp: { endpoint: LocalEndpoint; listener: TcpListener }[] = [];
  readonly #pool: TcpConnectionPool;
  /** Messages sent at least once: sending one again is a retransmission (counted, never per-message state). */
  readonly #sentOnce = new WeakSet<SipMessage>();
  #endpoints: readonly LocalEndpoint[] = [];
  #receiver: MessageReceiver | undefined;
  #closed = false;

  /** Use `createSipTransport`; the constructor opens nothing. */
  constructor(options: SipTransportOptions) {
    this.#clock = options.clock ?? systemClock();
    this.#log = options.logger ?? silentLogger();
    const l = options.limits ?? {};
    this.#parse = {
      ...(l.maxMessageBytes === undefined ? {} : { maxMessageSize: l.maxMessageBytes }),
      ...(l.maxHeaders === undefined ? {} : { maxHeaderCount: l.maxHeaders }),
      ...(l.maxLineLength === undefined ? {} : { maxLineLength: l.maxLineLength }),
    };
    this.#checkSentBy = options.checkResponseSentBy ?? true;
    this.#udpBuffers = { ...DEFAULT_UDP_BUFFERS, ...options.udpBuffers };
    const tcp = options.tcp ?? {};
    this.#pool = new TcpConnectionPool({
      clock: this.#clock,
      idleTimeoutMs: tcp.idleTimeoutMs ?? 120_000,
      connectTimeoutMs: tcp.connectTimeoutMs ?? 10_000,
      maxConnections: tcp.maxConnections ?? 1024,
      maxWriteBuffer: tcp.maxWriteBuffer ?? 1_048_576,
      parse: this.#parse,
      events: {
        onEvent: (c, e) => this.#onStreamEvent(c, e),
        onClose: () => undefined,
        onError: (c, err) => this.#log.debug({ err: err.message, connectionId: c.id }, 'sip tcp connection error'),
      },
    });
  }

  /** @internal Binds the listeners (called once by `createSipTransport`). */
  async open(specs: readonly ListenSpec[]): Promise<void> {
    for (const spec of specs) {
      if (spec.transport === 'udp') {
        const listener = await UdpListener.open(
          spec.host,
          spec.port,
          (data, remote, l) => this.#onDatagram(data, remote, l),
          (err) => this.#log.warn({ err: err.message }, 'sip udp socket error'),
          this.#udpBuffers,
        );
        const granted = listener.bufferSizes;
        const wanted = this.#udpBuffers.recvBufferSize;
        // Linux grants double what it was asked (bookkeeping); less than asked means net.core.rmem_max capped it.
        if (wanted !== undefined && granted.recv < wanted) {
          this.#log.warn({ requested: wanted, granted: granted.recv, port: listener.address.port }, 'sip udp receive buffer capped by the kernel (net.core.rmem_max)');
        }
        this.#udp.push({ ...advertise(spec, 'udp', listener.address), listener });
      } else {
        const listener = await TcpListener.open(
          spec.host,
          spec.port,
          (socket) => {
            if (this.#pool.adopt(socket) === undefined) this.stats.connectionsRefused++;
          },
          (err) => this.#log.warn({ err: err.message }, 'sip tcp listener error'),
        );
        this.#tcp.push({ endpoint: advertise(spec, 'tcp', listener.address), listener });
      }
      this.#endpoints = Object.freeze([...this.#udp.map(({ listener: _, ...e }) => e), ...this.#tcp.map((t) => t.endpoint)]);
    }
  }

  setReceiver(receiver: MessageReceiver): void {
    this.#receiver = receiver;
  }

  endpoints(): readonly LocalEndpoint[] {
    return this.#endpoints;
  }

  isConnectionOpen(connectionId: number): boolean {
    return this.#pool.get(connectionId)?.isOpen === true;
  }

  /** Open TCP connections (inbound and outbound). */
  get connectionCount(): number {
    return this.#pool.size;
  }

  async send(message: SipMessage, destination: Destination): Promise<SendResult> {
    let result: SendResult;
    try {
      result = await this.#send(message, destination);
    } catch (err) {
      // Sends never reject: an unexpected failure (serialisation) is an error value too.
      result = fail('CR_SIP_TRANSPORT_SEND_FAILED', `send failed: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    if (result.ok) {
      this.stats.sent++;
      if (this.#sentOnce.has(message)) this.stats.retransmitted++;
      else this.#sentOnce.add(message);
      if (message.isResponse) countResponse(this.stats.responsesSent, message.status);
    } else {
      this.stats.sendErrors++;
    }
    return result;
  }

  async sendResponse(response: SipMessage, source: MessageSource): Promise<SendResult> {
    const route = routeResponse(response, source);
    if (!route.ok) {
      this.stats.sendErrors++;
      return route;
    }
    const d = route.destination;
    if (d.transport === 'udp') {
      // RFC 3581 §4: from the address and port the request arrived on.
      const endpoint = this.#udpFor(source.local, ipFamily(d.address));
      return this.send(response, endpoint === undefined ? d : { ...d, local: endpoint.bound });
    }
    // §18.2.2: the request's connection while open, else a connection to received/sent-by.
    return this.send(response, d);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#receiver = undefined;
    this.#pool.close();
    await Promise.all([...this.#udp.map((u) => u.listener.close()), ...this.#tcp.map((t) => t.listener.close())]);
  }

  async #send(message: SipMessage, destination: Destination): Promise<SendResult> {
    if (this.#closed) return fail('CR_SIP_TRANSPORT_CLOSED', 'transport closed');
    const family = ipFamily(destination.address);
    if (family === undefined) return fail('CR_SIP_TRANSPORT_NEEDS_DNS', 'destination is not an IP address; this stack does not resolve DNS');
    if (!Number.isInteger(destination.port) || destination.port <= 0 || destination.port > 65535) {
      return fail('CR_SIP_TRANSPORT_NO_ROUTE', `invalid destination port ${destination.port}`);
    }
    if (destination.transport === 'udp') {
      const endpoint = this.#udpFor(destination.local, family);
      if (endpoint === undefined) return fail('CR_SIP_TRANSPORT_NO_LISTENER', `no ${family} UDP listener`);
      if (message.isRequest) fillVia(message, 'UDP', endpoint.advertisedHost, endpoint.advertisedPort);
      const data = message.toBuffer();
      if (data.length > MAX_DATAGRAM) return fail('CR_SIP_TRANSPORT_TOO_LARGE', `message of ${data.length} bytes does not fit a datagram; use TCP`);
      const err = await endpoint.listener.send(data, destination.address, destination.port);
      if (err !== undefined) return fail('CR_SIP_TRANSPORT_SEND_FAILED', `UDP send failed: ${err.message}`, err);
      return { ok: true, destination };
    }
    if (destination.transport !== 'tcp') return fail('CR_SIP_TRANSPORT_UNSUPPORTED', `unsupported transport ${String(destination.transport)}`);
    let conn: TcpConnection | undefined;
    if (destination.connectionId !== undefined) {
      const pinned = this.#pool.get(destination.connectionId);
      if (pinned?.isOpen === true) conn = pinned;
    }
    if (conn === undefined) {
      const obtained = await this.#pool.obtain(destination.address, destination.port);
      if (obtained instanceof SipTransportError) return { ok: false, error: obtained };
      conn = obtained;
    }
    if (message.isRequest) {
      const endpoint = this.#tcp.find((t) => t.endpoint.bound.family === conn.local.family) ?? this.#tcp[0];
      // Without a TCP listener the connection's own end is the only place a response can reach.
      fillVia(message, 'TCP', endpoint?.endpoint.advertisedHost ?? conn.local.address, endpoint?.endpoint.advertisedPort ?? conn.local.port);
    }
    const err = await conn.write(message.toBuffer());
    if (err !== undefined) return fail('CR_SIP_TRANSPORT_SEND_FAILED', `TCP send failed: ${err.message}`, err);
    return { ok: true, destination: { ...destination, connectionId: conn.id }, connectionId: conn.id };
  }

  #udpFor(local: SocketAddress | undefined, family: AddressFamily | undefined): UdpEndpoint | undefined {
    if (local !== undefined) {
      const exact = this.#udp.find((u) => u.bound.port === local.port && u.bound.address === local.address && u.bound.family === (family ?? u.bound.family));
      if (exact !== undefined) return exact;
    }
    return this.#udp.find((u) => u.bound.family === family);
  }

  #onDatagram(data: Buffer, remote: SocketAddress, listener: UdpListener): void {
    const source: MessageSource = { transport: 'udp', remote, local: listener.address };
    const outcome = parseMessage(data, this.#parse);
    if (outcome.ok) this.#accept(outcome.message, source);
    else this.#reject(outcome.error, source, undefined);
  }

  #onStreamEvent(conn: TcpConnection, event: FramerEvent): void {
    const source: MessageSource = { transport: 'tcp', remote: conn.remote, local: conn.local, connectionId: conn.id };
    switch (event.type) {
      case 'message':
        this.#accept(event.message, source);
        return;
      case 'invalid':
        this.#reject(event.error, source, conn);
        return;
      case 'keepalive':
        this.stats.keepalives++;
        // RFC 5626 §4.4.1: a double-CRLF "ping" is answered with a single CRLF "pong".
        if (event.kind === 'ping') void conn.write(CRLF);
        return;
      case 'fatal':
        this.#reject(event.error, source, conn);
        conn.end();
        return;
    }
  }

  #accept(message: SipMessage, source: MessageSource): void {
    if (message.isRequest) {
      // §18.2.1, RFC 3581 §4. A request without a parseable top Via cannot be answered.
      if (!stampVia(message, source.remote)) {
        this.stats.dropped++;
        return;
      }
    } else if (this.#checkSentBy && !this.#isOurs(message.topVia, source)) {
      // §18.1.2: "If the value of the sent-by parameter in that header field value does not
      // correspond to a value that the client transport would have inserted ... the response
      // MUST be silently discarded."
      this.stats.foreignResponses++;
      return;
    }
    const receiver = this.#receiver;
    if (receiver === undefined) {
      this.stats.dropped++;
      return;
    }
    this.stats.received++;
    if (message.isRequest) this.stats.requestsReceived[countedMethod(message.method)]++;
    try {
      receiver({ message, source });
    } catch (err) {
      this.stats.handlerErrors++;
      this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'sip receiver threw');
    }
  }

  /**
   * A message that failed to parse: a request we can answer gets its 400/505/513 straight back to
   * where it came from (the source address, or the same connection), never to a host named in
   * the message, which could be forged to aim our responses at a third party.
   */
  #reject(error: SipParseError, source: MessageSource, conn: TcpConnection | undefined): void {
    if (error.code === 'CR_SIP_KEEPALIVE') {
      this.stats.keepalives++;
      return;
    }
    if (!error.canRespond || error.status === undefined || error.message === undefined) {
      this.stats.dropped++;
      return;
    }
    let response: SipMessage;
    try {
      response = createResponse(error.message, error.status, error.reason, { toTag: newTag() });
    } catch {
      this.stats.dropped++;
      return;
    }
    this.stats.rejected++;
    countResponse(this.stats.responsesSent, response.status);
    if (conn !== undefined) {
      void conn.write(response.toBuffer()).then((err) => this.#counted(err));
      return;
    }
    const endpoint = this.#udpFor(source.local, source.remote.family);
    if (endpoint === undefined) return;
    const data = response.toBuffer();
    if (data.length > MAX_DATAGRAM) return;
    void endpoint.listener.send(data, source.remote.address, source.remote.port).then((err) => this.#counted(err));
  }

  #counted(err: Error | undefined): void {
    if (err === undefined) this.stats.sent++;
    else this.stats.sendErrors++;
  }

  #isOurs(via: Via | undefined, source: MessageSource): boolean {
    if (via === undefined) return false;
    const port = via.port ?? DEFAULT_SIP_PORT;
    const host = canonicalIp(via.host) ?? via.host.toLowerCase();
    const matches = (h: string, p: number): boolean => p === port && (canonicalIp(h) ?? h.toLowerCase()) === host;
    if (source.transport === 'tcp' && matches(source.local.address, source.local.port)) return true;
    for (const e of this.#endpoints) if (matches(e.advertisedHost, e.advertisedPort) || matches(e.bound.address, e.bound.port)) return true;
    return false;
  }
}

function countResponse(byStatus: Uint32Array, status: number): void {
  if (status >= 100 && status < byStatus.length) byStatus[status] = (byStatus[status] as number) + 1;
}

function fail(code: ConstructorParameters<typeof SipTransportError>[0], message: string, cause?: unknown): SendResult {
  return { ok: false, error: new SipTransportError(code, message, { cause }) };
}
