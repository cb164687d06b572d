import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../core/logger.ts';
import { MessageRate } from './message-rate.ts';
import { parseClientMessage, type ClientMessage, type ServerMessage, type WsErrorCode } from './protocol.ts';

/** Why a client socket closed, in our words (the close code alone cannot tell a dead peer from a ping timeout). */
export type SocketCloseCause =
  /** The client sent a close frame. */
  | 'client-closed'
  /** The connection dropped without a close frame (reset, half-open, process killed). */
  | 'connection-lost'
  /** The client did not answer a protocol ping before the next one was due. */
  | 'ping-timeout'
  /** A message over `websocket.maxMessageBytes` (closed with 1009). */
  | 'message-too-large'
  /** A WebSocket protocol violation (bad framing, bad close frame). */
  | 'protocol-error'
  /** The client stopped reading: more than the hard limit of our messages sat unsent. */
  | 'client-not-reading'
  /** We closed it (call ended, refused). */
  | 'server-closed';

export interface SocketClosed {
  readonly code: number;
  readonly cause: SocketCloseCause;
  /** A short, safe explanation for logs and the leg's end. */
  readonly detail: string;
}

export interface ClientSocketHandlers {
  /** A well-formed client message other than `ping` (answered here). */
  onMessage?(message: ClientMessage): void;
  /** A binary frame (audio). */
  onBinary?(data: Buffer): void;
  /** A text frame, unparsed (only with `rawText`). */
  onText?(data: Buffer): void;
  onClose?(closed: SocketClosed): void;
}

export interface ClientSocketOptions {
  readonly maxMessagesPerSecond: number;
  /** Protocol ping period; a client that has not answered the last ping when the next is due is dropped. */
  readonly pingIntervalMs: number;
  readonly logger: Logger;
  /** Above this many queued outbound bytes, audio waits and error replies are skipped. Default 256 KiB. */
  readonly highWaterBytes?: number;
  /** Above this many, the client is not reading at all: the connection is dropped. Default 4x high water. */
  readonly hardLimitBytes?: number;
  /** Monotonic ms (rate limiting). */
  readonly now?: () => number;
  /**
   * Another protocol runs on the socket (a telephony platform's, src/transports/telephony): text frames go to
   * `onText` unparsed, and the socket itself never sends Callroom messages (`error`, `pong`); messages over the
   * rate cap are dropped and logged instead of answered. Default false.
   */
  readonly rawText?: boolean;
}

const DEFAULT_HIGH_WATER = 256 * 1024;
const OPEN = 1;

/**
 * One client's WebSocket as the medium and the control socket use it: every inbound message is counted
 * against the rate cap, text frames are parsed (a malformed one gets an `error` reply and the connection
 * goes on), `ping` is answered, liveness is checked with protocol pings, outbound audio respects a
 * high-water mark, and the close is reported once with its cause.
 */
export class ClientSocket {
  readonly #ws: WebSocket;
  readonly #logger: Logger;
  readonly #rate: MessageRate;
  readonly #now: () => number;
  readonly #highWater: number;
  readonly #hardLimit: number;
  readonly #rawText: boolean;
  #handlers: ClientSocketHandlers = {};
  #alive = true;
  #pingTimer: NodeJS.Timeout | undefined;
  #cause: { cause: SocketCloseCause; detail: string } | undefined;
  #closed: SocketClosed | undefined;
  #lastRateReport = -Infinity;
  #received = 0;
  #malformed = 0;
  #resolveClosed!: (closed: SocketClosed) => void;
  /** Resolves once, when the connection has closed. */
  readonly whenClosed: Promise<SocketClosed> = new Promise((resolve) => {
    this.#resolveClosed = resolve;
  });

  constructor(ws: WebSocket, options: ClientSocketOptions) {
    this.#ws = ws;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#rate = new MessageRate(options.maxMessagesPerSecond, this.#now);
    this.#highWater = options.highWaterBytes ?? DEFAULT_HIGH_WATER;
    this.#hardLimit = options.hardLimitBytes ?? this.#highWater * 4;
    this.#rawText = options.rawText ?? false;
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.#onMessage);
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws closes the connection itself after a receive error; remember why before 'close' arrives.
      if (this.#cause !== undefined) return;
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#cause = { cause: 'message-too-large', detail: 'client message exceeded websocket.maxMessageBytes' };
      else this.#cause = { cause: 'protocol-error', detail: `websocket protocol error (${err.code ?? 'socket error'})` };
    });
    ws.on('close', (code: number) => this.#onClose(code));
    this.#pingTimer = setInterval(this.#ping, options.pingIntervalMs);
  }

  setHandlers(handlers: ClientSocketHandlers): void {
    this.#handlers = handlers;
  }

  get open(): boolean {
    return this.#closed === undefined && this.#ws.readyState === OPEN;
  }

  /** Set once the socket has closed. */
  get closed(): SocketClosed | undefined {
    return this.#closed;
  }

  /** Figures for the leg's media stats. */
  stats(): { messagesIn: number; rateLimited: number; malformed: number } {
    return { messagesIn: this.#received, rateLimited: this.#rate.dropped, malformed: this.#malformed };
  }

  /** Whether an audio frame may be sent now (false above the high-water mark: the client reads slowly). */
  canSendAudio(): boolean {
    return this.open && this.#ws.bufferedAmount <= this.#highWater;
  }

  /** Send one binary frame; false (not sent) when closed or above the high-water mark. */
  sendBinary(data: Buffer): boolean {
    if (!this.canSendAudio()) return false;
    this.#ws.send(data, { binary: true });
    return true;
  }

  /** Send a JSON message; false when closed. A client that reads nothing at all is dropped here. */
  sendJson(message: ServerMessage): boolean {
    return this.sendText(JSON.stringify(message));
  }

  /** Send a text frame as it is (another protocol's message, with `rawText`); as `sendJson` otherwise. */
  sendText(text: string): boolean {
    if (!this.open) return false;
    if (this.#ws.bufferedAmount > this.#hardLimit) {
      this.terminate('client-not-reading', 'client stopped reading its messages');
      return false;
    }
    this.#ws.send(text);
    return true;
  }

  /** An `error` reply; skipped while the client is behind on reading (a flood of bad input earns no flood back). */
  sendError(code: WsErrorCode, message: string, extra: { invocationId?: string; detail?: string } = {}): void {
    if (!this.open || this.#ws.bufferedAmount > this.#highWater) return;
    this.sendJson({ type: 'error', code, message, ...extra });
  }

  /** Close with a close frame after what is queued (call ended, refused). */
  close(code = 1000, reason = ''): void {
    this.#cause ??= { cause: 'server-closed', detail: 'closed by the server' };
    this.#stopPing();
    if (this.#ws.readyState === OPEN || this.#ws.readyState === 0) this.#ws.close(code, reason.slice(0, 120));
  }

  /** Drop the connection at once. */
  terminate(cause: SocketCloseCause, detail: string): void {
    this.#cause ??= { cause, detail };
    this.#stopPing();
    this.#ws.terminate();
  }

  #onMessage = (data: RawData, isBinary: boolean): void => {
    if (this.#closed !== undefined) return;
    this.#alive = true;
    this.#received++;
    if (!this.#rate.take()) {
      const now = this.#now();
      if (now - this.#lastRateReport >= 1000) {
        this.#lastRateReport = now;
        if (this.#rawText) this.#logger.warn({ dropped: this.#rate.dropped }, 'too many messages from the peer: some were dropped');
        else this.sendError('rate_limited', 'too many messages: some were dropped (websocket.maxMessagesPerSecond)');
      }
      return;
    }
    const buf = data as Buffer;
    if (isBinary) {
      this.#handlers.onBinary?.(buf);
      return;
    }
    if (this.#rawText) {
      try {
        this.#handlers.onText?.(buf);
      } catch (err) {
        this.#logger.warn({ err }, 'websocket message handler failed');
      }
      return;
    }
    const parsed = parseClientMessage(buf);
    if (!parsed.ok) {
      this.#malformed++;
      this.sendError(parsed.code, parsed.message, parsed.invocationId === undefined ? {} : { invocationId: parsed.invocationId });
      return;
    }
    if (parsed.message.type === 'ping') {
      this.sendJson(parsed.message.timestamp === undefined ? { type: 'pong' } : { type: 'pong', timestamp: parsed.message.timestamp });
      return;
    }
    try {
      this.#handlers.onMessage?.(parsed.message);
    } catch (err) {
      this.#logger.warn({ err }, 'websocket message handler failed');
    }
  };

  #ping = (): void => {
    if (!this.#alive) {
      this.terminate('ping-timeout', 'client stopped answering pings');
      return;
    }
    this.#alive = false;
    if (this.#ws.readyState === OPEN) this.#ws.ping();
  };

  #stopPing(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #onClose(code: number): void {
    if (this.#closed !== undefined) return;
    this.#stopPing();
    const cause =
      this.#cause ??
 (code === 1006
        ? { cause: 'connection-lost' as const, detail: `connection lost without a close frame (code ${code})` }
        : { cause: 'client-closed' as const, detail: `client closed the connection (code ${code})` });
    this.#closed = { code, ...cause };
    this.#ws.off('message', this.#onMessage);
    this.#resolveClosed(this.#closed);
    try {
      this.#handlers.onClose?.(this.#closed);
    } catch (err) {
      this.#logger.warn({ err }, 'websocket close handler failed');
    }
  }
}
