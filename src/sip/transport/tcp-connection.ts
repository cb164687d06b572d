import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { StreamFramer, type FramerEvent } from '../message/stream-framer.ts';
import type { SipParseOptions } from '../message/limits.ts';
import { familyOf } from './ip-address.ts';
import type { SocketAddress } from './transport.ts';

/** What a connection reports to its owner. Handlers must not throw (the connection catches and closes). */
export interface TcpConnectionEvents {
  onEvent(connection: TcpConnection, event: FramerEvent): void;
  onClose(connection: TcpConnection): void;
  onError(connection: TcpConnection, err: Error): void;
}

export interface TcpConnectionOptions {
  readonly id: number;
  readonly socket: Socket;
  readonly outbound: boolean;
  readonly clock: Clock;
  /** Closed after this long without a byte in either direction. */
  readonly idleTimeoutMs: number;
  /** Queued outgoing bytes beyond this close the connection: a peer that does not read cannot grow our memory. */
  readonly maxWriteBuffer: number;
  readonly parse: SipParseOptions;
  readonly events: TcpConnectionEvents;
}

/**
 * One TCP connection carrying SIP (RFC 3261 §18.3): framed by the message layer's StreamFramer
 * (Content-Length, partial reads, CRLF keep-alives), closed when idle.
 */
export class TcpConnection {
  readonly id: number;
  readonly outbound: boolean;
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  /** Clock time of the last byte in either direction (least recently used goes first at the cap). */
  lastActivity: number;
  readonly #socket: Socket;
  readonly #framer: StreamFramer;
  readonly #clock: Clock;
  readonly #idleMs: number;
  readonly #maxWriteBuffer: number;
  readonly #events: TcpConnectionEvents;
  #idleTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: TcpConnectionOptions) {
    const s = options.socket;
    this.id = options.id;
    this.outbound = options.outbound;
    this.#socket = s;
    this.#clock = options.clock;
    this.#idleMs = options.idleTimeoutMs;
    this.#maxWriteBuffer = options.maxWriteBuffer;
    this.#events = options.events;
    this.#framer = new StreamFramer(options.parse);
    this.remote = { address: s.remoteAddress ?? '', port: s.remotePort ?? 0, family: familyOf(s.remoteFamily ?? 'IPv4') };
    this.local = { address: s.localAddress ?? '', port: s.localPort ?? 0, family: familyOf(s.localFamily ?? 'IPv4') };
    this.lastActivity = this.#clock.now();
    s.setNoDelay(true);
    s.on('data', (chunk: Buffer) => this.#onData(chunk));
    s.on('error', (err) => this.#safe(() => this.#events.onError(this, err)));
    s.on('close', () => this.#finish());
    // A half-closed peer sends nothing more; our responses could still go out, but RFC 3261 gives
    // no use for a half-open SIP connection, so close both ways.
    s.on('end', () => this.close());
    this.#armIdle();
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Queues bytes; resolves once written to the kernel, with the error instead of rejecting. */
  write(data: Uint8Array): Promise<Error | undefined> {
    if (this.#closed || this.#socket.destroyed) return Promise.resolve(new Error('TCP connection closed'));
    if (this.#socket.writableLength + data.length > this.#maxWriteBuffer) {
      this.close();
      return Promise.resolve(new Error('TCP peer is not reading: write buffer full'));
    }
    this.#touch();
    return new Promise((resolve) => {
      try {
        this.#socket.write(data, (err) => resolve(err ?? undefined));
      } catch (err) {
        resolve(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Sends what is queued, then closes (after a fatal framing error, once its 4xx/5xx is queued). */
  end(): void {
    if (this.#closed) return;
    this.#socket.end();
    this.#clearIdle();
    // A peer that never reads would keep an ended socket forever: destroy it after the idle time.
    this.#idleTimer = this.#clock.setTimeout(() => this.close(), Math.min(this.#idleMs, 5_000));
  }

  /** Closes at once and reports `onClose` (once). */
  close(): void {
    if (this.#closed) return;
    this.#socket.destroy();
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearIdle();
    if (!this.#socket.destroyed) this.#socket.destroy();
    this.#safe(() => this.#events.onClose(this));
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#touch();
    const events = this.#framer.push(chunk);
    for (const event of events) {
      if (this.#closed) return;
      this.#safe(() => this.#events.onEvent(this, event));
    }
  }

  #safe(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // Never out of a socket handler: report, and drop the connection whose state is now unknown.
      try {
        this.#events.onError(this, err instanceof Error ? err : new Error(String(err)));
      } catch {
        // nothing left to tell
      }
      this.close();
    }
  }

  #touch(): void {
    this.lastActivity = this.#clock.now();
  }

  #armIdle(): void {
    this.#clearIdle();
    this.#idleTimer = this.#clock.setTimeout(() => this.#onIdle(), this.#idleMs);
  }

  #onIdle(): void {
    this.#idleTimer = undefined;
    if (this.#closed) return;
    const idle = this.#clock.now() - this.lastActivity;
    // One timer per connection, re-armed for the remaining time instead of reset on every byte.
    if (idle >= this.#idleMs) this.close();
    else this.#idleTimer = this.#clock.setTimeout(() => this.#onIdle(), this.#idleMs - idle);
  }

  #clearIdle(): void {
    if (this.#idleTimer !== undefined) {
      this.#clock.clearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
  }
}
