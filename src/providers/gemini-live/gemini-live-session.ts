/**
 * One Gemini Live conversation, kept alive across sockets with session resumption.
 *
 * States: 'open' -> ('reconnecting' -> 'open')* -> 'closing' -> 'closed'. The server's `goAway`,
 * or a socket that drops (any close we did not ask for, except 1003/1007/1008, which mean "never"),
 * starts a reconnect that sends the latest `sessionResumptionUpdate` handle in the new `setup`.
 * Meanwhile caller audio waits in a bounded drop-oldest outbox and turn signals in a small queue;
 * both go out first on the new socket, then `reconnected` is emitted. A model turn or tool calls in
 * flight when the socket went do not survive it (resumable points are between turns): the turn ends
 * as 'incomplete' and the calls are withdrawn with `tool_call_cancelled`.
 * Model turns (made-up ids, transcripts) are tracked by {@link ModelTurns}, tool calls by
 * {@link ToolBatches}.
 */
import type { FunctionResponse } from '@google/genai';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { RealtimeAudioFormat, RealtimeEvent, RealtimeHistoryItem, RealtimeSession, RealtimeSessionOptions, RealtimeSessionStats } from '../types.ts';
import { AudioOutbox } from '../audio-outbox.ts';
import { closeIsFinal, connectLive, GEMINI_LIVE, type LiveConnectHandlers, type LiveConnection, type LiveEndpoint } from './live-connect.ts';
import { parseLiveMessage, type LiveAction } from './server-messages.ts';
import { ModelTurns } from './model-turns.ts';
import { ToolBatches } from './tool-batches.ts';
import { sleepOn } from '../wrappers/backoff.ts';

export interface ReconnectPolicy {
  /** Attempts after a drop or goAway before giving up (0 = never reconnect). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface GeminiLiveSessionSettings {
  readonly options: RealtimeSessionOptions;
  readonly endpoint: LiveEndpoint;
  readonly model: string;
  readonly voice: string | undefined;
  readonly compressContext: boolean;
  /** One deadline per connection attempt: socket open + setupComplete. */
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly reconnect: ReconnectPolicy;
  readonly outboxBytes: number;
  readonly socketHighWaterBytes: number;
  readonly maxAppendBytes: number;
  readonly drainIntervalMs: number;
  readonly eventCapacity: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

type State = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';
type CloseReason = Extract<RealtimeEvent, { type: 'closed' }>['reason'];

const OPEN = 1;

export class GeminiLiveSession implements RealtimeSession {
  readonly inputFormat: RealtimeAudioFormat;
  readonly outputFormat: RealtimeAudioFormat;
  readonly #s: GeminiLiveSessionSettings;
  readonly #signal: AbortSignal | undefined;
  readonly #events: BoundedChannel<RealtimeEvent>;
  readonly #outbox: AudioOutbox;
  readonly #mimeType: string;
  readonly #manual: boolean;
  #state: State = 'connecting';
  #conn: LiveConnection | undefined;
  #generation = 0;
  #handle: string | undefined;
  #reconnectAbort = new AbortController();
  #sentAudioBytes = 0;
  #drainTimer: TimerHandle | undefined;
  #warnedDrop = false;
  #warnedEventDrop = 0;
  #warnedRate = false;
  #closePromise: Promise<void> | undefined;
  #closeWaiter: (() => void) | undefined;
  /** Turn signals asked for while reconnecting, replayed in order on the new socket. */
  #deferred: Array<() => void> = [];
  readonly #turns: ModelTurns;
  #activityOpen = false;
  #committed = false;
  readonly #calls = new ToolBatches();
  #callSeq = 0;

  constructor(settings: GeminiLiveSessionSettings, signal?: AbortSignal) {
    this.#s = settings;
    this.#signal = signal;
    this.inputFormat = settings.options.inputFormat;
    this.outputFormat = settings.options.outputFormat;
    this.#events = new BoundedChannel<RealtimeEvent>(settings.eventCapacity, 'drop-oldest');
    this.#outbox = new AudioOutbox(settings.outboxBytes);
    this.#mimeType = `audio/pcm;rate=${settings.options.inputFormat.sampleRate}`;
    this.#manual = settings.options.turnDetection === 'manual';
    this.#turns = new ModelTurns((e) => this.#emit(e), settings.options.transcription, settings.logger);
  }

  get stats(): RealtimeSessionStats {
    return { sentAudioBytes: this.#sentAudioBytes, bufferedAudioBytes: this.#outbox.bytes, droppedAudioBytes: this.#outbox.droppedBytes };
  }

  /** Open the first socket. Rejects with a typed ProviderError or AbortedError. */
  async start(): Promise<void> {
    const generation = ++this.#generation;
    try {
      const conn = await connectLive(this.#s.endpoint, this.#setup(), this.#handlersFor(generation), this.#s.connectTimeoutMs, this.#signal);
      this.#install(conn);
    } catch (err) {
      this.#state = 'closed';
      this.#events.close();
      throw err;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  appendAudio(bytes: Uint8Array): void {
    if ((this.#state !== 'open' && this.#state !== 'reconnecting') || bytes.byteLength === 0) return;
    if (this.#state === 'open' && this.#outbox.bytes === 0 && this.#writable()) {
      this.#transmitAudio(bytes);
      return;
    }
    if (this.#outbox.push(bytes) > 0 && !this.#warnedDrop) {
      this.#warnedDrop = true;
      this.#s.logger.warn({ state: this.#state, outboxBytes: this.#s.outboxBytes }, 'gemini-live: socket not writable, oldest caller audio dropped');
    }
    this.#armDrain();
  }

  commit(): void {
    if (this.#defer(() => this.commit())) return;
    if (this.#state !== 'open') return;
    this.#drain(true);
    if (this.#manual) {
      if (!this.#activityOpen) return;
      this.#activityOpen = false;
      this.#sdkSend('activityEnd', (s) => s.sendRealtimeInput({ activityEnd: {} }));
    } else {
      // With server VAD there is no commit; ending the stream makes the server flush its detector.
      this.#sdkSend('audioStreamEnd', (s) => s.sendRealtimeInput({ audioStreamEnd: true }));
    }
    this.#committed = true;
  }

  createResponse(): void {
    if (this.#defer(() => this.createResponse())) return;
    if (this.#state !== 'open') return;
    if (this.#manual && this.#activityOpen) {
      // activityEnd is what makes Gemini answer a manual turn.
      this.commit();
      return;
    }
    if (this.#committed) {
      this.#s.logger.debug('gemini-live: the committed turn is answered without a request');
      return;
    }
    // Nothing from the caller pending: an empty complete turn asks the model to speak (a greeting).
    this.#sdkSend('clientContent', (s) => s.sendClientContent({ turnComplete: true }));
  }

  sendToolResult(callId: string, name: string, output: string): void {
    if (this.#state !== 'open' && this.#state !== 'reconnecting') return;
    const done = this.#calls.answer({ id: callId, name, response: { output: parseOutput(output) } });
    if (done === 'unknown') {
      this.#s.logger.warn({ callId, tool: name }, 'gemini-live: result for an unknown or withdrawn tool call dropped');
      return;
    }
    this.#s.logger.debug({ callId, tool: name, toolResult: output }, 'gemini-live: tool result');
    if (done !== undefined) this.#sendBatch(done);
  }

  sendText(text: string): void {
    if (this.#defer(() => this.sendText(text))) return;
    if (this.#state !== 'open') return;
    this.#sdkSend('clientContent', (s) => s.sendClientContent({ turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true }));
  }

  addHistory(items: readonly RealtimeHistoryItem[]): void {
    if (this.#defer(() => this.addHistory(items))) return;
    if (this.#state !== 'open') return;
    const turns = items
      .filter((i) => i.text !== '')
      .map((i) => ({ role: i.role === 'assistant' ? 'model' : 'user', parts: [{ text: i.role === 'note' ? `[Note: ${i.text}]` : i.text }] }));
    if (turns.length > 0) this.#sdkSend('clientContent', (s) => s.sendClientContent({ turns, turnComplete: false }));
  }

  cancelResponse(): void {
    // No cancel message exists: the rest of this turn is dropped here, and reported done now.
    if (this.#state === 'open') this.#turns.cancel();
  }

  truncate(itemId: string, audioEndMs: number): void {
    // Gemini has no truncate: its context keeps the whole generated turn. Nothing is sent.
    this.#s.logger.debug({ itemId, audioEndMs }, 'gemini-live: truncate has no protocol equivalent; nothing sent');
  }

  events(): AsyncIterable<RealtimeEvent> {
    return this.#events;
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#close('client');
    return this.#closePromise;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  #handlersFor(generation: number): LiveConnectHandlers {
    const current = (): boolean => generation === this.#generation && this.#state !== 'closed';
    return {
      onMessage: (msg) => this.#guard(() => current() && this.#onMessage(msg)),
      onClose: (code, reason) => this.#guard(() => current() && this.#onSocketClose(code, reason)),
      onMalformed: (reason) => this.#s.logger.warn({ reason }, 'gemini-live: malformed message ignored'),
      onSocketError: (err) => this.#s.logger.debug({ err: err.message }, 'gemini-live: socket error'),
    };
  }

  #onMessage(msg: unknown): void {
    const { actions, problems } = parseLiveMessage(msg);
    for (const reason of problems) this.#s.logger.warn({ reason }, 'gemini-live: malformed message ignored');
    for (const action of actions) {
      if (this.#state !== 'open') return;
      this.#act(action);
    }
  }

  #act(a: LiveAction): void {
    switch (a.kind) {
      case 'setup_complete':
        return;
      case 'audio': {
        const turn = this.#turns.ensure();
        if (turn.cancelled) return;
        const bytes = Buffer.from(a.base64, 'base64');
        if (bytes.byteLength === 0) return;
        let format = this.outputFormat;
        if (a.sampleRate !== undefined && a.sampleRate !== format.sampleRate) {
          if (!this.#warnedRate) {
            this.#warnedRate = true;
            this.#s.logger.warn({ sampleRate: a.sampleRate }, 'gemini-live: model audio at an unexpected rate, passed on as sent');
          }
          format = { encoding: 'pcm_s16le', sampleRate: a.sampleRate };
        }
        this.#emit({ type: 'audio', bytes, format, itemId: turn.itemId, responseId: turn.responseId });
        return;
      }
      case 'transcript':
        this.#turns.transcript(a.role, a.text, a.finished);
        return;
      case 'interrupted':
        this.#turns.end('interrupted');
        return;
      case 'turn_complete':
        this.#committed = false;
        this.#turns.end('completed');
        return;
      case 'tool_calls': {
        const turn = this.#turns.ensure();
        const calls = a.calls.map((call) => {
          if (call.id !== undefined) return { ...call, id: call.id };
          this.#s.logger.warn({ tool: call.name }, 'gemini-live: function call without id; made one up');
          return { ...call, id: `gemini-call-${++this.#callSeq}` };
        });
        this.#calls.add(calls.map((c) => c.id));
        for (const call of calls) {
          this.#s.logger.debug({ callId: call.id, tool: call.name, toolArgs: call.args }, 'gemini-live: tool call');
          this.#emit({ type: 'tool_call', callId: call.id, name: call.name, arguments: call.args, responseId: turn.responseId });
        }
        return;
      }
      case 'tool_cancel':
        this.#withdraw(a.ids);
        return;
      case 'go_away':
        this.#s.logger.info({ timeLeft: a.timeLeft }, 'gemini-live: server going away, resuming on a new socket');
        this.#beginReconnect();
        return;
      case 'resumption':
        if (a.resumable && a.handle !== undefined) this.#handle = a.handle;
        return;
      case 'speech':
        this.#emit({ type: a.started ? 'speech_started' : 'speech_stopped' });
        return;
    }
  }

  #withdraw(ids: readonly string[]): void {
    const { withdrawn, complete } = this.#calls.withdraw(ids);
    for (const responses of complete) this.#sendBatch(responses);
    if (withdrawn.length > 0) this.#emit({ type: 'tool_call_cancelled', callIds: withdrawn });
  }

  #onSocketClose(code: number, reason: string): void {
    if (this.#state === 'closing') {
      this.#closeWaiter?.();
      return;
    }
    if (this.#state !== 'open') return;
    if (closeIsFinal(code)) {
      this.#fail(new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_REJECTED', `session closed by the server (${code} ${reason})`, { retryable: false }));
      return;
    }
    if (this.#s.reconnect.attempts === 0) {
      this.#fail(new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_UNAVAILABLE', `socket closed mid-session (${code} ${reason})`, { retryable: true }));
      return;
    }
    this.#s.logger.warn({ code, reason }, 'gemini-live: socket dropped mid-session, resuming');
    this.#beginReconnect();
  }

  // -------------------------------------------------------------------------------------------
  // Reconnecting

  #beginReconnect(): void {
    if (this.#state !== 'open') return;
    this.#state = 'reconnecting';
    const old = this.#conn;
    this.#conn = undefined;
    this.#generation++;
    old?.socket.close(1000, 'reconnecting');
    this.#clearDrain();
    // What was in flight does not survive the socket.
    this.#turns.end('incomplete');
    this.#withdraw(this.#calls.ids());
    this.#activityOpen = false;
    this.#committed = false;
    void this.#reconnectLoop(this.#outbox.droppedBytes);
  }

  async #reconnectLoop(droppedBefore: number): Promise<void> {
    const { attempts, baseDelayMs, maxDelayMs } = this.#s.reconnect;
    const signal = this.#reconnectAbort.signal;
    let last: ProviderError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const generation = ++this.#generation;
      try {
        if (attempt > 1) await sleepOn(this.#s.clock, Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2)) * (0.5 + this.#s.random() / 2), signal);
        const conn = await connectLive(this.#s.endpoint, this.#setup(), this.#handlersFor(generation), this.#s.connectTimeoutMs, signal);
        if (this.#state !== 'reconnecting' || generation !== this.#generation) {
          conn.socket.close(1000);
          return;
        }
        const resumed = this.#handle !== undefined;
        this.#s.logger.info({ attempt, resumed }, 'gemini-live: reconnected');
        this.#install(conn);
        this.#emit({ type: 'reconnected', attempt, resumed, droppedAudioBytes: this.#outbox.droppedBytes - droppedBefore });
        this.#drain(true);
        const deferred = this.#deferred;
        this.#deferred = [];
        for (const fn of deferred) fn();
        return;
      } catch (err) {
        if (err instanceof AbortedError || this.#state !== 'reconnecting') return;
        last = err instanceof ProviderError ? err : new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_UNAVAILABLE', errorMessage(err), { retryable: true, cause: err });
        this.#s.logger.warn({ attempt, code: last.code, err: last.message }, 'gemini-live: reconnect failed');
        if (!last.retryable) break;
      }
    }
    this.#fail(
      last !== undefined && !last.retryable
        ? last
        : new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_UNAVAILABLE', `socket lost; gave up after ${attempts} reconnect attempts`, {
            retryable: true,
            ...(last !== undefined ? { cause: last } : {}),
          }),
    );
  }

  #install(conn: LiveConnection): void {
    this.#conn = conn;
    this.#state = 'open';
    for (const msg of conn.early) this.#guard(() => this.#onMessage(msg));
  }

  #setup() {
    return {
      model: this.#s.model,
      options: this.#s.options,
      voice: this.#s.voice,
      resumeHandle: this.#handle,
      compressContext: this.#s.compressContext,
    };
  }

  /** While reconnecting, queue `fn` for the new socket (true = deferred). */
  #defer(fn: () => void): boolean {
    if (this.#state !== 'reconnecting') return false;
    if (this.#deferred.length < 16) this.#deferred.push(fn);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  #writable(): boolean {
    const socket = this.#conn?.socket;
    return socket !== undefined && socket.readyState === OPEN && socket.bufferedAmount <= this.#s.socketHighWaterBytes;
  }

  #transmitAudio(bytes: Uint8Array): void {
    if (this.#manual && !this.#activityOpen) {
      // A manual turn starts with the caller's first audio (and interrupts the model, as the
      // default activityHandling does).
      this.#activityOpen = true;
      this.#committed = false;
      this.#sdkSend('activityStart', (s) => s.sendRealtimeInput({ activityStart: {} }));
    }
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    if (this.#sdkSend('audio', (s) => s.sendRealtimeInput({ audio: { data, mimeType: this.#mimeType } }))) this.#sentAudioBytes += bytes.byteLength;
  }

  #sendBatch(functionResponses: FunctionResponse[]): void {
    this.#sdkSend('toolResponse', (s) => s.sendToolResponse({ functionResponses }));
  }

  /** Send through the SDK, which throws on a socket that is not open: false when not sent. */
  #sdkSend(what: string, fn: (s: LiveConnection['session']) => void): boolean {
    const conn = this.#conn;
    if (conn === undefined || conn.socket.readyState !== OPEN) return false;
    try {
      fn(conn.session);
      return true;
    } catch (err) {
      this.#s.logger.debug({ what, err: errorMessage(err) }, 'gemini-live: send failed');
      return false;
    }
  }

  #drain(force: boolean): void {
    while (this.#state === 'open' && this.#outbox.bytes > 0 && (force || this.#writable())) {
      const chunk = this.#outbox.take(this.#s.maxAppendBytes);
      if (chunk === undefined) break;
      this.#transmitAudio(chunk);
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

  #clearDrain(): void {
    if (this.#drainTimer !== undefined) {
      this.#s.clock.clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  readonly #onAbort = (): void => {
    void this.#close('aborted');
  };

  async #close(reason: CloseReason): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    this.#reconnectAbort.abort();
    this.#clearDrain();
    this.#outbox.clear();
    const socket = this.#conn?.socket;
    if (socket !== undefined && socket.readyState !== 3) {
      const closed = new Promise<void>((resolve) => (this.#closeWaiter = resolve));
      socket.close(1000, 'client closed');
      let timer: TimerHandle | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = this.#s.clock.setTimeout(r, this.#s.closeTimeoutMs)))]);
      if (timer !== undefined) this.#s.clock.clearTimeout(timer);
    }
    this.#teardown(reason);
  }

  #fail(error: ProviderError): void {
    this.#s.logger.error({ code: error.code, retryable: error.retryable, err: error.message }, 'gemini-live: session failed');
    this.#emit({ type: 'error', error, retryable: error.retryable, fatal: true });
    this.#teardown('error');
  }

  /** Release everything now; emits 'closed' exactly once. */
  #teardown(reason: CloseReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#generation++;
    this.#reconnectAbort.abort();
    this.#clearDrain();
    this.#outbox.clear();
    this.#calls.clear();
    this.#deferred = [];
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#conn?.socket.terminate();
    this.#conn = undefined;
    this.#closeWaiter?.();
    this.#emit({ type: 'closed', reason });
    this.#events.close();
  }

  #emit(event: RealtimeEvent): void {
    const before = this.#events.dropped;
    this.#events.push(event);
    if (this.#events.dropped > before && this.#events.dropped >= this.#warnedEventDrop * 2 + 1) {
      this.#warnedEventDrop = this.#events.dropped;
      this.#s.logger.warn({ dropped: this.#events.dropped }, 'gemini-live: event consumer too slow, oldest events dropped');
    }
  }

  /** Handlers run inside the SDK's un-awaited message handler: nothing may escape. */
  #guard(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      this.#s.logger.error({ err: errorMessage(err) }, 'gemini-live: event handler failed');
    }
  }
}

/** A tool's output for `FunctionResponse.response.output`: its JSON value when it is JSON, else the text. */
function parseOutput(output: string): unknown {
  try {
    return JSON.parse(output) as unknown;
  } catch {
    return output;
  }
}
