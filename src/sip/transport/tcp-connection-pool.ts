import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { SipParseOptions } from '../message/limits.ts';
import { canonicalIp } from './ip-address.ts';
import { TcpConnection, type TcpConnectionEvents } from './tcp-connection.ts';
import { SipTransportError } from './transport-error.ts';

export interface TcpPoolOptions {
  readonly clock: Clock;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxWriteBuffer: number;
  readonly parse: SipParseOptions;
  readonly events: TcpConnectionEvents;
}

/**
 * Every open TCP connection, inbound and outbound, reused by remote `address:port` (RFC 3261
 * §18.1.1: a request to a destination with an open connection SHOULD use it) and bounded in number.
 * At the cap an inbound connection is refused and an outbound one closes the least recently used.
 */
export class TcpConnectionPool {
  readonly #options: TcpPoolOptions;
  readonly #byId = new Map<number, TcpConnection>();
  readonly #byRemote = new Map<string, TcpConnection>();
  readonly #connecting = new Map<string, Promise<TcpConnection | SipTransportError>>();
  readonly #pendingSockets = new Set<Socket>();
  #nextId = 1;
  #closed = false;
  readonly #events: TcpConnectionEvents;

  constructor(options: TcpPoolOptions) {
    this.#options = options;
    const inner = options.events;
    // The pool forgets a connection before its owner hears it closed.
    this.#events = {
      onEvent: (c, e) => inner.onEvent(c, e),
      onError: (c, e) => inner.onError(c, e),
      onClose: (c) => {
        this.#forget(c);
        inner.onClose(c);
      },
    };
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: number): TcpConnection | undefined {
    return this.#byId.get(id);
  }

  /** An open connection to `address:port`, if any. */
  find(address: string, port: number): TcpConnection | undefined {
    const c = this.#byRemote.get(key(address, port));
    return c?.isOpen === true ? c : undefined;
  }

  /** Takes an accepted socket; undefined (socket destroyed) at the cap or after close. */
  adopt(socket: Socket): TcpConnection | undefined {
    if (this.#closed || this.#byId.size + this.#connecting.size >= this.#options.maxConnections) {
      socket.destroy();
      return undefined;
    }
    return this.#add(socket, false);
  }

  /** The open connection to `address:port`, or a new one (one attempt at a time per destination). */
  obtain(address: string, port: number): Promise<TcpConnection | SipTransportError> {
    const existing = this.find(address, port);
    if (existing !== undefined) return Promise.resolve(existing);
    const k = key(address, port);
    const pending = this.#connecting.get(k);
    if (pending !== undefined) return pending;
    if (this.#closed) return Promise.resolve(new SipTransportError('CR_SIP_TRANSPORT_CLOSED', 'transport closed'));
    if (this.#byId.size + this.#connecting.size >= this.#options.maxConnections && !this.#evictOne()) {
      return Promise.resolve(new SipTransportError('CR_SIP_TRANSPORT_CONNECT_FAILED', 'too many TCP connections'));
    }
    const p = this.#connect(address, port).finally(() => this.#connecting.delete(k));
    this.#connecting.set(k, p);
    return p;
  }

  #connect(address: string, port: number): Promise<TcpConnection | SipTransportError> {
    const { clock, connectTimeoutMs } = this.#options;
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const socket = connect({ host: address, port, noDelay: true });
      this.#pendingSockets.add(socket);
      const done = (result: TcpConnection | SipTransportError): void => {
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        this.#pendingSockets.delete(socket);
        socket.off('error', onError);
        socket.off('connect', onConnect);
        resolve(result);
      };
      const onError = (err: Error): void => {
        socket.destroy();
        done(new SipTransportError('CR_SIP_TRANSPORT_CONNECT_FAILED', `TCP connect to ${address}:${port} failed: ${err.message}`, { cause: err }));
      };
      const onConnect = (): void => {
        if (this.#closed) {
          socket.destroy();
          done(new SipTransportError('CR_SIP_TRANSPORT_CLOSED', 'transport closed'));
          return;
        }
        done(this.#add(socket, true));
      };
      socket.once('error', onError);
      socket.once('connect', onConnect);
      timer = clock.setTimeout(() => {
        timer = undefined;
        onError(new Error(`timed out after ${connectTimeoutMs} ms`));
      }, connectTimeoutMs);
    });
  }

  #add(socket: Socket, outbound: boolean): TcpConnection {
    const o = this.#options;
    const c = new TcpConnection({
      id: this.#nextId++,
      socket,
      outbound,
      clock: o.clock,
      idleTimeoutMs: o.idleTimeoutMs,
      maxWriteBuffer: o.maxWriteBuffer,
      parse: o.parse,
      events: this.#events,
    });
    this.#byId.set(c.id, c);
    this.#byRemote.set(key(c.remote.address, c.remote.port), c);
    return c;
  }

  #forget(c: TcpConnection): void {
    this.#byId.delete(c.id);
    const k = key(c.remote.address, c.remote.port);
    if (this.#byRemote.get(k) === c) this.#byRemote.delete(k);
  }

  /** Closes the least recently used connection; false when there is none. */
  #evictOne(): boolean {
    let oldest: TcpConnection | undefined;
    for (const c of this.#byId.values()) if (oldest === undefined || c.lastActivity < oldest.lastActivity) oldest = c;
    if (oldest === undefined) return false;
    oldest.close();
    return true;
  }

  /** Closes every connection and pending connect. */
  close(): void {
    this.#closed = true;
    for (const s of this.#pendingSockets) s.destroy(new Error('transport closed'));
    for (const c of [...this.#byId.values()]) c.close();
  }
}

function key(address: string, port: number): string {
  return `${canonicalIp(address) ?? address}|${port}`;
}
