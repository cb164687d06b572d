/**
 * One OpenAI Realtime (GA) conversation over the SDK's WebSocket client (`OpenAIRealtimeWS`).
 *
 * States: 'connecting' -> 'open' -> 'closing' -> 'closed'. `start()` waits for the socket to open
 * and for `session.updated` (the server accepted our formats and tools), inside one deadline. OpenAI
 * has no session resumption: a socket that drops ends the session with a retryable fatal error.
 * The turn-taking state the protocol leaves to the client lives in {@link ResponseTracker}.
 */
import type { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeClientEvent, RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type {
  RealtimeAudioFormat,
  RealtimeEvent,
  RealtimeHistoryItem,
  RealtimeSession,
  RealtimeSessionOptions,
  RealtimeSessionStats,
} from '../types.ts';
import { AudioOutbox } from '../audio-outbox.ts';
import { classifySocketError } from './connect-errors.ts';
import { ResponseTracker } from './response-tracker.ts';
import { parseServerEvent, type ServerEvent } from './server-events.ts';
import { bytesPerMs, OPENAI_REALTIME } from './session-config.ts';

export interface OpenAiRealtimeSessionSettings {
  readonly options: RealtimeSessionOptions;
  /** The GA `session.update` body. */
  readonly session: RealtimeSessionCreateRequest;
  /** One deadline for: socket open + `session.updated`. */
  readonly connectTimeoutMs: number;
  /** How long `close()` waits for the close handshake before dropping the socket. */
  readonly closeTimeoutMs: number;
  /** Caller audio held while the socket is not writable. */
  readonly outboxBytes: number;
  /** Socket send buffer above which audio waits in the outbox instead. */
  readonly socketHighWaterBytes: number;
  /** Largest single `input_audio_buffer.append` when a backlog drains. */
  readonly maxAppendBytes: number;
  /** How often a held backlog is retried. */
  readonly drainIntervalMs: number;
  readonly eventCapacity: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

type State = 'connecting' | 'open' | 'closing' | 'closed';
type CloseReason = Extract<RealtimeEvent, { type: 'closed' }>['reason'];

const OPEN = 1;

export class OpenAiRealtimeSession implements RealtimeSession {
  readonly inputFormat: RealtimeAudioFormat;
  readonly outputFormat: RealtimeAudioFormat;
  readonly #rt: OpenAIRealtimeWS;
  readonly #s: OpenAiRealtimeSessionSettings;
  readonly #signal: AbortSignal | undefined;
  readonly #events: BoundedChannel<RealtimeEvent>;
  readonly #outbox: AudioOutbox;
  readonly #outBytesPerMs: number;
  #state: State = 'connecting';
  #sentAudioBytes = 0;
  #drainTimer: TimerHandle | undefined;
  #warnedDrop = false;
  #warnedEventDrop = 0;
  // start()
  #startResolve: (() => void) | undefined;
  #startReject: ((err: Error) => void) | undefined;
  #connectTimer: TimerHandle | undefined;
  #connectError: ProviderError | undefined;
  // close()
  #closePromise: Promise<void> | undefined;
  #closeWaiter: (() => void) | undefined;
  readonly #responses = new ResponseTracker();

  constructor(rt: OpenAIRealtimeWS, settings: OpenAiRealtimeSessionSettings, signal?: AbortSignal) {
    this.#rt = rt;
    this.#s = settings;
    this.#signal = signal;
    this.inputFormat = settings.options.inputFormat;
    this.outputFormat = settings.options.outputFormat;
    this.#events = new BoundedChannel<RealtimeEvent>(settings.eventCapacity, 'drop-oldest');
    this.#outbox = new AudioOutbox(settings.outboxBytes);
    this.#outBytesPerMs = bytesPerMs(settings.options.outputFormat);
    // Listeners first: the SDK turns an 'error' without a listener into an unhandled rejection.
    rt.on('error', (err) => this.#guard(() => this.#onSdkError(err)));
    rt.on('event', (event) => this.#guard(() => this.#onServerEvent(event)));
    rt.socket.on('open', () => this.#guard(() => this.#onOpen()));
    rt.socket.on('close', (code: number, reason: Buffer) => this.#guard(() => this.#onClose(code, reason.toString('utf8'))));
  }

  get stats(): RealtimeSessionStats {
    return {
      sentAudioBytes: this.#sentAudioBytes,
      bufferedAudioBytes: this.#outbox.bytes,
      droppedAudioBytes: this.#outbox.droppedBytes,
    };
  }

  /** Resolves once the server confirmed the session configuration; rejects with a ProviderError or AbortedError. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#startResolve = resolve;
      this.#startReject = reject;
      if (this.#signal?.aborted) {
        this.#failStart(new AbortedError());
        return;
      }
      this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
      this.#connectTimer = this.#s.clock.setTimeout(() => {
        this.#connectTimer = undefined;
        const waiting = this.#rt.socket.readyState === OPEN ? 'session.updated' : 'the socket to open';
        this.#failStart(new ProviderError(OPENAI_REALTIME, 'CR_PROVIDER_TIMEOUT', `connect timed out waiting for ${waiting}`, { retryable: true }));
      }, this.#s.connectTimeoutMs);
    });
  }

  appendAudio(bytes: Uint8Array): void {
    if (this.#state !== 'open' || bytes.byteLength === 0) return;
    if (this.#outbox.bytes === 0 && this.#writable()) {
      this.#sendAudio(bytes);
      return;
    }
    if (this.#outbox.push(bytes) > 0 && !this.#warnedDrop) {
      this.#warnedDrop = true;
      this.#s.logger.warn({ outboxBytes: this.#s.outboxBytes }, 'openai-realtime: socket not writable, oldest caller audio dropped');
    }
    this.#armDrain();
  }

  commit(): void {
    this.#sendControl({ type: 'input_audio_buffer.commit' });
  }

  createResponse(): void {
    this.#sendControl({ type: 'response.create' });
  }

  sendToolResult(callId: string, name: string, output: string): void {
    if (this.#state !== 'open') return;
    const answer = this.#responses.answer(callId);
    if (!answer.known) {
      this.#s.logger.warn({ callId, tool: name }, 'openai-realtime: result for an unknown or withdrawn tool call dropped');
      return;
    }
    if (answer.name !== name) this.#s.logger.warn({ callId, tool: name, expected: answer.name }, 'openai-realtime: tool result name differs from the call');
    this.#s.logger.debug({ callId, tool: answer.name, toolResult: output }, 'openai-realtime: tool result');
    this.#sendControl({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output } });
    if (answer.createNow) this.#sendControl({ type: 'response.create' });
  }

  sendText(text: string): void {
    if (this.#state !== 'open') return;
    this.#sendControl({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
    if (this.#responses.requestResponse()) this.#sendControl({ type: 'response.create' });
  }

  addHistory(items: readonly RealtimeHistoryItem[]): void {
    if (this.#state !== 'open') return;
    for (const { role, text } of items) {
      if (text === '') continue;
      const item =
        role === 'assistant'
          ? { type: 'message' as const, role, content: [{ type: 'output_text' as const, text }] }
          : { type: 'message' as const, role: role === 'note' ? ('system' as const) : role, content: [{ type: 'input_text' as const, text }] };
      this.#sendControl({ type: 'conversation.item.create', item });
    }
  }

  cancelResponse(): void {
    if (this.#state !== 'open') return;
    this.#responses.cancelActive();
    // Sent even when we know of no active response: response.created may be in flight. The
    // server answers `response_cancel_not_active` when there was none, which is expected.
    this.#sendControl({ type: 'response.cancel' });
  }

  truncate(itemId: string, audioEndMs: number): void {
    if (this.#state !== 'open') return;
    // More than the server sent for the item is refused; what was played can only be less.
    const ms = this.#responses.clampTruncate(itemId, audioEndMs, this.#outBytesPerMs);
    if (ms !== audioEndMs) this.#s.logger.debug({ itemId, audioEndMs, sent: ms }, 'openai-realtime: truncate clamped');
    this.#sendControl({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: ms });
  }

  events(): AsyncIterable<RealtimeEvent> {
    return this.#events;
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#close('client');
    return this.#closePromise;
  }

  // -------------------------------------------------------------------------------------------
  // Socket and SDK callbacks

  #onOpen(): void {
    if (this.#state !== 'connecting') return;
    this.#send({ type: 'session.update', session: this.#s.session });
  }

  #onSdkError(err: Error & { error?: unknown; cause?: unknown }): void {
    // Server `error` events reach the 'event' listener too and are handled there.
    if (err.error !== undefined) return;
    if (err.message.startsWith('could not parse websocket event')) {
      this.#s.logger.warn({ reason: 'not JSON' }, 'openai-realtime: malformed message ignored');
      return;
    }
    if (err.message.startsWith('could not send data')) {
      this.#s.logger.debug({ err: errorMessage(err.cause ?? err) }, 'openai-realtime: send failed');
      return;
    }
    // A transport error; the socket's close event follows and decides.
    if (this.#state === 'connecting') this.#connectError ??= classifySocketError(err.cause ?? err);
    else this.#s.logger.debug({ err: errorMessage(err.cause ?? err) }, 'openai-realtime: socket error');
  }

  #onClose(code: number, reason: string): void {
    switch (this.#state) {
      case 'connecting':
        this.#failStart(
          this.#connectError ??
            new ProviderError(OPENAI_REALTIME, 'CR_PROVIDER_UNAVAILABLE', `socket closed during connect (${code} ${reason})`, { retryable: true }),
        );
        return;
      case 'closing':
        this.#closeWaiter?.();
        return;
      case 'closed':
        return;
      case 'open':
        break;
    }
    if (code === 1000) {
      this.#s.logger.info({ code, reason }, 'openai-realtime: server ended the session');
      this.#teardown('server');
      return;
    }
    // No resumption in this protocol: the call layer decides whether to open a new session.
    const policy = code === 1008;
    this.#fail(
      new ProviderError(
        OPENAI_REALTIME,
        policy ? 'CR_PROVIDER_REJECTED' : 'CR_PROVIDER_UNAVAILABLE',
        `socket closed mid-session (${code}${reason === '' ? '' : ` ${reason}`})`,
        { retryable: !policy },
      ),
    );
  }

  #onServerEvent(raw: unknown): void {
    if (this.#state === 'closed') return;
    const event = parseServerEvent(raw);
    if (this.#state === 'connecting') {
      this.#onConnectingEvent(event);
      return;
    }
    this.#handle(event);
  }

  #onConnectingEvent(event: ServerEvent): void {
    if (event.kind === 'session_updated') {
      this.#state = 'open';
      this.#clearConnectTimer();
      const resolve = this.#startResolve;
      this.#startResolve = this.#startReject = undefined;
      resolve?.();
      return;
    }
    if (event.kind === 'error') {
      // The server refused our session.update (a format, a tool schema, a model it does not serve).
      const retryable = event.type === 'server_error';
      this.#failStart(
        new ProviderError(OPENAI_REALTIME, retryable ? 'CR_PROVIDER_UNAVAILABLE' : 'CR_PROVIDER_REJECTED', `session.update refused: ${event.code ?? event.type}: ${event.message}`, {
          retryable,
        }),
      );
      return;
    }
    if (event.kind === 'malformed') this.#s.logger.warn({ reason: event.reason }, 'openai-realtime: malformed message ignored');
  }

  #handle(event: ServerEvent): void {
    switch (event.kind) {
      case 'speech_started':
        this.#emit({ type: 'speech_started', ...opt('audioMs', event.audioMs), ...opt('itemId', event.itemId) });
        return;
      case 'speech_stopped':
        this.#emit({ type: 'speech_stopped', ...opt('audioMs', event.audioMs), ...opt('itemId', event.itemId) });
        return;
      case 'response_created':
        this.#responses.onCreated(event.responseId);
        return;
      case 'audio_delta': {
        if (!this.#responses.delivers(event.responseId)) return;
        const bytes = Buffer.from(event.base64, 'base64');
        if (bytes.byteLength === 0) return;
        this.#responses.onAudio(event.itemId, bytes.byteLength);
        this.#emit({ type: 'audio', bytes, format: this.outputFormat, itemId: event.itemId, responseId: event.responseId });
        return;
      }
      case 'transcript':
        if (!this.#s.options.transcription) return;
        if (event.responseId !== undefined && !this.#responses.delivers(event.responseId)) return;
        if (event.final) this.#s.logger.debug({ role: event.role, transcript: event.text }, 'openai-realtime: transcript');
        this.#emit({ type: 'transcript', role: event.role, text: event.text, final: event.final, itemId: event.itemId });
        return;
      case 'function_call':
        if (!this.#responses.onCall(event.callId, event.name, event.responseId)) return;
        this.#s.logger.debug({ callId: event.callId, tool: event.name, toolArgs: event.arguments }, 'openai-realtime: tool call');
        this.#emit({ type: 'tool_call', callId: event.callId, name: event.name, arguments: event.arguments, responseId: event.responseId });
        return;
      case 'response_done':
        this.#onResponseDone(event);
        return;
      case 'error':
        this.#onServerError(event);
        return;
      case 'transcription_failed':
        this.#s.logger.warn({ itemId: event.itemId, err: event.message }, 'openai-realtime: caller transcription failed');
        return;
      case 'malformed':
        this.#s.logger.warn({ reason: event.reason }, 'openai-realtime: malformed message ignored');
        return;
      case 'unknown':
        this.#s.logger.debug({ eventType: event.type }, 'openai-realtime: unknown event ignored');
        return;
      case 'session_updated':
      case 'truncated':
      case 'ignored':
        return;
    }
  }

  #onResponseDone(event: Extract<ServerEvent, { kind: 'response_done' }>): void {
    const id = event.responseId;
    const { status, withdrawn, createNow } = this.#responses.onDone(id, event.status, event.reason);
    if (withdrawn.length > 0) this.#emit({ type: 'tool_call_cancelled', callIds: withdrawn });
    if (status === 'failed') {
      const error = new ProviderError(OPENAI_REALTIME, 'CR_PROVIDER_UNAVAILABLE', `response failed: ${event.errorCode ?? 'unknown'}`, { retryable: true });
      this.#emit({ type: 'error', error, retryable: true, fatal: false });
    }
    if (status === 'interrupted') this.#emit({ type: 'interrupted', responseId: id });
    this.#emit({ type: 'response_done', responseId: id, status });
    if (createNow) this.#sendControl({ type: 'response.create' });
  }

  #onServerError(event: Extract<ServerEvent, { kind: 'error' }>): void {
    if (event.code === 'response_cancel_not_active') {
      // Expected: server VAD already cancelled the response, or it had just finished.
      this.#s.logger.debug('openai-realtime: nothing to cancel');
      return;
    }
    const retryable = event.type === 'server_error';
    const error = new ProviderError(
      OPENAI_REALTIME,
      retryable ? 'CR_PROVIDER_UNAVAILABLE' : 'CR_PROVIDER_REJECTED',
      `${event.code ?? event.type}: ${event.message}${event.param === undefined ? '' : ` (${event.param})`}`,
      { retryable },
    );
    this.#s.logger.warn({ code: event.code, errorType: event.type, err: event.message }, 'openai-realtime: server error event');
    // The Realtime API keeps the session open after an error event.
    this.#emit({ type: 'error', error, retryable, fatal: false });
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  #writable(): boolean {
    const socket = this.#rt.socket;
    return socket.readyState === OPEN && socket.bufferedAmount <= this.#s.socketHighWaterBytes;
  }

  #sendAudio(bytes: Uint8Array): void {
    const audio = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    if (this.#send({ type: 'input_audio_buffer.append', audio })) this.#sentAudioBytes += bytes.byteLength;
  }

  /** Control events keep their order after caller audio: whatever audio is held goes first. */
  #sendControl(event: RealtimeClientEvent): void {
    if (this.#state !== 'open') return;
    this.#drain(true);
    this.#send(event);
  }

  #send(event: RealtimeClientEvent): boolean {
    if (this.#rt.socket.readyState !== OPEN) return false;
    this.#rt.send(event);
    return true;
  }

  #drain(force: boolean): void {
    while (this.#state === 'open' && this.#outbox.bytes > 0 && (force || this.#writable())) {
      const chunk = this.#outbox.take(this.#s.maxAppendBytes);
      if (chunk === undefined) break;
      this.#sendAudio(chunk);
    }
    if (this.#outbox.bytes > 0) this.#armDrain();
    else this.#warnedDrop = false;
  }

  #armDrain(): void {
    if (this.#drainTimer !== undefined || this.#state !== 'open') return;
    this.#drainTimer = this.#s.clock.setTimeout(() => {
      this.#drainTimer = undefined;
      this.#drain(false);
    }, this.#s.drainIntervalMs);
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  readonly #onAbort = (): void => {
    if (this.#state === 'connecting') this.#failStart(new AbortedError());
    else void this.#close('aborted');
  };

  async #close(reason: CloseReason): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    if (this.#state === 'connecting') {
      this.#failStart(new AbortedError('closed while connecting'));
      return;
    }
    this.#state = 'closing';
    this.#clearDrain();
    this.#outbox.clear();
    const socket = this.#rt.socket;
    if (socket.readyState !== socket.CLOSED) {
      const closed = new Promise<void>((resolve) => (this.#closeWaiter = resolve));
      this.#rt.close({ code: 1000, reason: 'client closed' });
      let timer: TimerHandle | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = this.#s.clock.setTimeout(r, this.#s.closeTimeoutMs)))]);
      if (timer !== undefined) this.#s.clock.clearTimeout(timer);
    }
    this.#teardown(reason);
  }

  #failStart(err: Error): void {
    const reject = this.#startReject;
    this.#startResolve = this.#startReject = undefined;
    this.#state = 'closed';
    this.#release();
    this.#events.close();
    reject?.(err);
  }

  #fail(error: ProviderError): void {
    this.#s.logger.error({ code: error.code, retryable: error.retryable, err: error.message }, 'openai-realtime: session failed');
    this.#emit({ type: 'error', error, retryable: error.retryable, fatal: true });
    this.#teardown('error');
  }

  /** Release everything now; emits 'closed' exactly once. */
  #teardown(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#release();
    this.#closeWaiter?.();
    this.#emit({ type: 'closed', reason });
    this.#events.close();
  }

  #release(): void {
    this.#clearConnectTimer();
    this.#clearDrain();
    this.#outbox.clear();
    this.#responses.clear();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    const socket = this.#rt.socket;
    if (socket.readyState !== socket.CLOSED) socket.terminate();
  }

  #clearConnectTimer(): void {
    if (this.#connectTimer !== undefined) {
      this.#s.clock.clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
    }
  }

  #clearDrain(): void {
    if (this.#drainTimer !== undefined) {
      this.#s.clock.clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
  }

  #emit(event: RealtimeEvent): void {
    const before = this.#events.dropped;
    this.#events.push(event);
    if (this.#events.dropped > before && this.#events.dropped >= this.#warnedEventDrop * 2 + 1) {
      // Logged at 1, 3, 7, 15... drops: a stuck consumer must not flood the log.
      this.#warnedEventDrop = this.#events.dropped;
      this.#s.logger.warn({ dropped: this.#events.dropped }, 'openai-realtime: event consumer too slow, oldest events dropped');
    }
  }

  /** A bug in a handler must not escape into the SDK's or ws's emitter (that would crash the process). */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#s.logger.error({ err: errorMessage(err) }, 'openai-realtime: event handler failed');
    }
  }
}

/** `{ key: value }` when value is defined, else `{}` (exactOptionalPropertyTypes-friendly spreads). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
