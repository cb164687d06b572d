/**
 * One Deepgram live transcription stream, with our own reconnect policy.
 *
 * States: 'open' -> ('reconnecting' -> 'open')* -> 'closing' -> 'closed'. A socket that drops
 * mid-stream (any close we did not ask for, other than a normal 1000 or a policy 1008) is
 * re-opened up to `reconnect.attempts` times with exponential backoff and jitter; audio written in
 * the meantime waits in a bounded drop-oldest backlog and is sent first on the new socket. Giving
 * up emits an 'error' event (retryable) and then 'closed'. Deepgram restarts its clock on every
 * connection, so event timestamps are shifted by the audio that went to earlier connections.
 */
import { BoundedChannel } from '../../core/bounded-channel.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { AudioFrame } from '../../core/audio-frame.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, SttEvent, SttSession } from '../types.ts';
import { AudioOutbox } from '../audio-outbox.ts';
import { DEEPGRAM, type LiveSocket, type LiveSocketConnector, type LiveSocketHandlers } from './deepgram-connect.ts';
import { parseDeepgramMessage } from './deepgram-messages.ts';
import { sleepOn } from '../wrappers/backoff.ts';

export interface ReconnectPolicy {
  /** Attempts after a drop before giving up (0 = never reconnect). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface DeepgramSessionSettings {
  readonly encoding: AudioEncoding;
  readonly sampleRate: number;
  readonly reconnect: ReconnectPolicy;
  /** Bytes of audio held while reconnecting. */
  readonly backlogBytes: number;
  /** Send KeepAlive when no audio was written for this long; false = only when `keepAlive()` is called. */
  readonly autoKeepAliveMs: number | false;
  /** How long `close()` waits for the server's final results, Metadata and close. */
  readonly closeTimeoutMs: number;
  /** Queued events kept for a slow reader (oldest dropped beyond this). */
  readonly eventCapacity: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

type State = 'open' | 'reconnecting' | 'closing' | 'closed';

const KEEP_ALIVE = { type: 'KeepAlive' } as const;
const FINALIZE = { type: 'Finalize' } as const;
const CLOSE_STREAM = { type: 'CloseStream' } as const;
const OPEN = 1;
/** Held audio goes out on a new socket in messages of up to this many bytes. */
const BACKLOG_MESSAGE_BYTES = 16_384;

export class DeepgramSession implements SttSession {
  readonly #connect: LiveSocketConnector;
  readonly #s: DeepgramSessionSettings;
  readonly #events: BoundedChannel<SttEvent>;
  readonly #backlog: AudioOutbox;
  /** `#backlog.droppedBytes` when the last reconnect accounted for it. */
  #droppedAccounted = 0;
  readonly #bytesPerSecond: number;
  readonly #handlers: LiveSocketHandlers;
  #socket: LiveSocket | undefined;
  #state: State = 'open';
  /** Session seconds at which the current connection's audio starts. */
  #timeBaseSec = 0;
  #bytesOnConnection = 0;
  #lastActivity = 0;
  #keepAliveTimer: TimerHandle | undefined;
  #reconnectAbort = new AbortController();
  #pendingFinalize = false;
  #closePromise: Promise<void> | undefined;
  #closeWaiter: (() => void) | undefined;
  #warnedPcmOnEncoded = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#teardown();

  /** Use `DeepgramStt.open()`; this takes an already-open socket from `connect`. */
  constructor(connect: LiveSocketConnector, settings: DeepgramSessionSettings, signal?: AbortSignal) {
    this.#connect = connect;
    this.#s = settings;
    this.#events = new BoundedChannel<SttEvent>(settings.eventCapacity, 'drop-oldest');
    this.#backlog = new AudioOutbox(settings.backlogBytes);
    this.#bytesPerSecond = settings.sampleRate * (settings.encoding === 'pcm_s16le' ? 2 : 1);
    this.#signal = signal;
    this.#handlers = {
      onMessage: (msg) => this.#onMessage(msg),
      onError: (err) => this.#s.logger.debug({ err: err.message }, 'deepgram: socket error'),
      onClose: (code, reason) => this.#onClose(code, reason),
    };
  }

  /** Open the first socket. Rejects with a typed ProviderError (or AbortedError). */
  async start(): Promise<void> {
    this.#socket = await this.#connect(this.#handlers, this.#signal);
    this.#lastActivity = this.#s.clock.now();
    this.#armKeepAlive();
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  write(frame: AudioFrame): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#s.encoding !== 'pcm_s16le') {
      if (!this.#warnedPcmOnEncoded) {
        this.#warnedPcmOnEncoded = true;
        this.#s.logger.warn({ encoding: this.#s.encoding }, 'deepgram: linear frame written to an encoded session, dropped');
      }
      return;
    }
    const s = frame.samples;
    this.#sendAudio(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
  }

  writeEncoded(bytes: Uint8Array): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#sendAudio(bytes);
  }

  keepAlive(): void {
    if (this.#state !== 'open') return;
    this.#sendControl(KEEP_ALIVE);
  }

  finalize(): void {
    if (this.#state === 'reconnecting') this.#pendingFinalize = true;
    if (this.#state !== 'open') return;
    this.#sendControl(FINALIZE);
  }

  events(): AsyncIterable<SttEvent> {
    return this.#events;
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    const wasOpen = this.#state === 'open' && socket !== undefined && socket.readyState === OPEN;
    this.#state = 'closing';
    this.#reconnectAbort.abort();
    this.#clearKeepAlive();
    if (wasOpen) {
      // CloseStream makes Deepgram flush final results, send Metadata and close with 1000.
      const closed = new Promise<void>((resolve) => (this.#closeWaiter = resolve));
      try {
        socket.sendCloseStream(CLOSE_STREAM);
        let timer: TimerHandle | undefined;
        await Promise.race([closed, new Promise<void>((r) => (timer = this.#s.clock.setTimeout(r, this.#s.closeTimeoutMs)))]);
        if (timer !== undefined) this.#s.clock.clearTimeout(timer);
      } catch (err) {
        this.#s.logger.debug({ err: errorMessage(err) }, 'deepgram: CloseStream not sent');
      }
    }
    this.#teardown();
  }

  #onMessage(msg: unknown): void {
    if (this.#state === 'closed') return;
    if (typeof Blob !== 'undefined' && msg instanceof Blob) {
      this.#s.logger.warn('deepgram: unexpected binary message ignored');
      return;
    }
    const parsed = parseDeepgramMessage(msg, this.#timeBaseSec);
    switch (parsed.kind) {
      case 'event':
        if (parsed.event.type === 'transcript' && parsed.event.isFinal) {
          this.#s.logger.debug({ transcript: parsed.event.text, speechFinal: parsed.event.speechFinal }, 'deepgram: final');
        }
        this.#emit(parsed.event);
        return;
      case 'metadata':
        this.#s.logger.debug({ requestId: parsed.requestId, durationSec: parsed.durationSec }, 'deepgram: metadata');
        return;
      case 'skip':
        return;
      case 'malformed':
        this.#s.logger.warn({ reason: parsed.reason }, 'deepgram: malformed message ignored');
        return;
    }
  }

  #onClose(code: number, reason: string): void {
    if (this.#state === 'closing') {
      this.#closeWaiter?.();
      return;
    }
    if (this.#state !== 'open') return;
    this.#socket = undefined;
    if (code === 1000) {
      // The server ended the stream on its own terms (e.g. it already had a CloseStream).
      this.#s.logger.info({ code }, 'deepgram: server closed the stream');
      this.#teardown();
      return;
    }
    if (code === 1008 || code === 1003) {
      this.#fail(new ProviderError(DEEPGRAM, 'CR_PROVIDER_REJECTED', `stream rejected (${code} ${reason})`, { retryable: false }));
      return;
    }
    this.#s.logger.warn({ code, reason }, 'deepgram: socket dropped mid-stream, reconnecting');
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    this.#state = 'reconnecting';
    this.#clearKeepAlive();
    const previousBytes = this.#bytesOnConnection;
    const { attempts, baseDelayMs, maxDelayMs } = this.#s.reconnect;
    const signal = this.#reconnectAbort.signal;
    let lastError: ProviderError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) * (0.5 + this.#s.random() / 2);
      try {
        await sleepOn(this.#s.clock, delay, signal);
        const socket = await this.#connect(this.#handlers, signal);
        if (this.#state !== 'reconnecting') {
          socket.close();
          return;
        }
        this.#onReconnected(socket, previousBytes, attempt);
        return;
      } catch (err) {
        if (err instanceof AbortedError || this.#state !== 'reconnecting') return;
        lastError = err instanceof ProviderError ? err : new ProviderError(DEEPGRAM, 'CR_PROVIDER_UNAVAILABLE', errorMessage(err), { retryable: true, cause: err });
        this.#s.logger.warn({ attempt, code: lastError.code, err: lastError.message }, 'deepgram: reconnect failed');
        if (!lastError.retryable) break;
      }
    }
    this.#fail(
      lastError !== undefined && !lastError.retryable
        ? lastError
        : new ProviderError(DEEPGRAM, 'CR_PROVIDER_UNAVAILABLE', `socket dropped; gave up after ${attempts} reconnect attempts`, {
            retryable: true,
            ...(lastError !== undefined ? { cause: lastError } : {}),
          }),
    );
  }

  #onReconnected(socket: LiveSocket, previousBytes: number, attempt: number): void {
    const droppedBytes = this.#backlog.droppedBytes - this.#droppedAccounted;
    this.#droppedAccounted = this.#backlog.droppedBytes;
    // Take all first: a send that fails on the new socket holds its audio in the backlog again.
    const chunks: Uint8Array[] = [];
    for (let c = this.#backlog.take(BACKLOG_MESSAGE_BYTES); c !== undefined; c = this.#backlog.take(BACKLOG_MESSAGE_BYTES)) chunks.push(c);
    this.#timeBaseSec += (previousBytes + droppedBytes) / this.#bytesPerSecond;
    this.#bytesOnConnection = 0;
    this.#socket = socket;
    this.#state = 'open';
    this.#s.logger.info({ attempt, backlogChunks: chunks.length, droppedBytes }, 'deepgram: reconnected');
    for (const c of chunks) this.#sendAudio(c);
    if (this.#pendingFinalize) {
      this.#pendingFinalize = false;
      this.#sendControl(FINALIZE);
    }
    this.#lastActivity = this.#s.clock.now();
    this.#armKeepAlive();
  }

  #sendAudio(bytes: Uint8Array): void {
    if (bytes.byteLength === 0) return;
    const socket = this.#socket;
    if (this.#state === 'open' && socket !== undefined && socket.readyState === OPEN) {
      try {
        // Copied: the caller may reuse its buffer, and ws may hold the view (permessage-deflate).
        socket.sendMedia(bytes.slice());
        this.#bytesOnConnection += bytes.byteLength;
        this.#lastActivity = this.#s.clock.now();
        return;
      } catch (err) {
        this.#s.logger.debug({ err: errorMessage(err) }, 'deepgram: send failed, holding audio');
      }
    }
    if (this.#state === 'open' || this.#state === 'reconnecting') this.#backlog.push(bytes);
  }

  #sendControl(msg: typeof KEEP_ALIVE | typeof FINALIZE): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN) return;
    try {
      if (msg.type === 'KeepAlive') socket.sendKeepAlive(msg);
      else socket.sendFinalize(msg);
      this.#lastActivity = this.#s.clock.now();
    } catch (err) {
      this.#s.logger.debug({ err: errorMessage(err), type: msg.type }, 'deepgram: control message not sent');
    }
  }

  #armKeepAlive(): void {
    const every = this.#s.autoKeepAliveMs;
    if (every === false || this.#state !== 'open') return;
    this.#clearKeepAlive();
    const due = Math.max(0, this.#lastActivity + every - this.#s.clock.now());
    this.#keepAliveTimer = this.#s.clock.setTimeout(() => {
      this.#keepAliveTimer = undefined;
      if (this.#state !== 'open') return;
      // Audio or a control message since the timer was armed pushes the deadline instead.
      if (this.#s.clock.now() - this.#lastActivity >= every) this.#sendControl(KEEP_ALIVE);
      this.#armKeepAlive();
    }, due);
  }

  #clearKeepAlive(): void {
    if (this.#keepAliveTimer !== undefined) {
      this.#s.clock.clearTimeout(this.#keepAliveTimer);
      this.#keepAliveTimer = undefined;
    }
  }

  #emit(event: SttEvent): void {
    this.#events.push(event);
  }

  #fail(error: ProviderError): void {
    this.#s.logger.warn({ code: error.code, retryable: error.retryable, err: error.message }, 'deepgram: stream failed');
    this.#emit({ type: 'error', error, retryable: error.retryable });
    this.#teardown();
  }

  /** Release everything now; emits 'closed' exactly once. */
  #teardown(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#reconnectAbort.abort();
    this.#clearKeepAlive();
    this.#backlog.clear();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const socket = this.#socket;
    this.#socket = undefined;
    try {
      socket?.close();
    } catch (err) {
      this.#s.logger.debug({ err: errorMessage(err) }, 'deepgram: close failed');
    }
    this.#closeWaiter?.();
    this.#emit({ type: 'closed' });
    this.#events.close();
  }
}
