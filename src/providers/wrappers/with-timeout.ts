/**
 * Deadline wrappers. A deadline that passes aborts the inner call and surfaces a retryable
 * `ProviderError` (code CR_PROVIDER_TIMEOUT), so retry and fallback wrappers treat it like any
 * other transient failure. STT: `openMs` for open(), `firstResultMs` from the first sign that a
 * transcript is due (the engine's `speech_started`, or `finalize()`) to the first transcript; a
 * caller who stays silent owes the engine nothing, so audio alone does not start it. TTS/LLM:
 * `firstResultMs` to the first audio chunk / event, `totalMs` for the whole stream.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { AbortedError } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type {
  LlmEvent,
  LlmProvider,
  LlmRequest,
  SttEvent,
  SttProvider,
  SttSession,
  SttSessionOptions,
  TtsChunk,
  TtsProvider,
  TtsRequest,
} from '../types.ts';

export interface StreamDeadlines {
  readonly firstResultMs?: number;
  readonly totalMs?: number;
}

export interface SttDeadlines {
  readonly openMs?: number;
  /** From the first `speech_started` event or `finalize()` call to the first transcript. */
  readonly firstResultMs?: number;
}

function timeoutError(provider: string, what: string, ms: number): ProviderError {
  return new ProviderError(provider, 'CR_PROVIDER_TIMEOUT', `${what} not within ${ms} ms`, { retryable: true });
}

/**
 * Iterate `start(signal)` under deadlines. Each read is raced against the deadline, so an inner
 * stream that ignores its abort signal still cannot hold the caller past it.
 */
async function* deadlineStream<T>(
  provider: string,
  start: (signal: AbortSignal) => AsyncIterable<T>,
  deadlines: StreamDeadlines,
  signal: AbortSignal | undefined,
  isResult: (item: T) => boolean,
): AsyncGenerator<T> {
  if (signal?.aborted) return;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let expire!: (e: ProviderError) => void;
  const expired = new Promise<ProviderError>((resolve) => (expire = resolve));
  const arm = (ms: number | undefined, what: string): NodeJS.Timeout | undefined =>
    ms === undefined ? undefined : setTimeout(() => expire(timeoutError(provider, what, ms)), ms);
  let first = arm(deadlines.firstResultMs, 'first result');
  const total = arm(deadlines.totalMs, 'complete result');
  const it = start(ac.signal)[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = it.next();
      next.catch(() => undefined); // may lose the race below; never an unhandled rejection
      const r = await Promise.race([next, expired]);
      if (r instanceof ProviderError) {
        ac.abort();
        void it.return?.()?.catch(() => undefined);
        if (signal?.aborted) return;
        throw r;
      }
      if (r.done === true) return;
      if (first !== undefined && isResult(r.value)) {
        clearTimeout(first);
        first = undefined;
      }
      yield r.value;
    }
  } finally {
    clearTimeout(first);
    clearTimeout(total);
    signal?.removeEventListener('abort', onAbort);
  }
}

export class TimeoutTts implements TtsProvider {
  readonly #inner: TtsProvider;
  readonly #d: StreamDeadlines;
  constructor(inner: TtsProvider, deadlines: StreamDeadlines) {
    this.#inner = inner;
    this.#d = deadlines;
  }
  get name(): string {
    return this.#inner.name;
  }
  get encodings(): TtsProvider['encodings'] {
    return this.#inner.encodings;
  }
  get sampleRates(): TtsProvider['sampleRates'] {
    return this.#inner.sampleRates;
  }
  synthesize(request: TtsRequest, signal?: AbortSignal): AsyncIterable<TtsChunk> {
    return deadlineStream(this.name, (s) => this.#inner.synthesize(request, s), this.#d, signal, (c) => c.type !== 'alignment');
  }
}

export class TimeoutLlm implements LlmProvider {
  readonly #inner: LlmProvider;
  readonly #d: StreamDeadlines;
  constructor(inner: LlmProvider, deadlines: StreamDeadlines) {
    this.#inner = inner;
    this.#d = deadlines;
  }
  get name(): string {
    return this.#inner.name;
  }
  stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    return deadlineStream(this.name, (s) => this.#inner.stream(request, s), this.#d, signal, () => true);
  }
}

export class TimeoutStt implements SttProvider {
  readonly #inner: SttProvider;
  readonly #d: SttDeadlines;
  constructor(inner: SttProvider, deadlines: SttDeadlines) {
    this.#inner = inner;
    this.#d = deadlines;
  }
  get name(): string {
    return this.#inner.name;
  }
  get encodings(): SttProvider['encodings'] {
    return this.#inner.encodings;
  }
  supportsSampleRate(rate: number): boolean {
    return this.#inner.supportsSampleRate(rate);
  }

  async open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    if (signal?.aborted) throw new AbortedError();
    const openMs = this.#d.openMs;
    // The signal given to the inner open() bounds the whole session, so it stays linked to the
    // caller's signal and is only aborted here if open() itself runs out of time.
    const ac = new AbortController();
    const linked = signal === undefined ? ac.signal : AbortSignal.any([signal, ac.signal]);
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      const session = await Promise.race([
        this.#inner.open(options, linked),
        new Promise<never>((_, reject) => {
          if (openMs === undefined) return;
          timer = setTimeout(() => {
            timedOut = true;
            ac.abort();
            reject(timeoutError(this.name, 'open', openMs));
          }, openMs);
        }),
      ]);
      return this.#d.firstResultMs === undefined ? session : new FirstResultSession(session, this.name, this.#d.firstResultMs);
    } catch (err) {
      if (timedOut && !(err instanceof ProviderError)) throw timeoutError(this.name, 'open', openMs ?? 0);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Emits a retryable timeout error and closes the session when no transcript follows the first
 * `speech_started` or `finalize()` in time. Silence (audio without speech) never arms it: a caller
 * who has not spoken yet is not a failing engine.
 */
class FirstResultSession implements SttSession {
  readonly #inner: SttSession;
  readonly #provider: string;
  readonly #ms: number;
  readonly #events = new BoundedChannel<SttEvent>(1024, 'drop-oldest');
  #timer: NodeJS.Timeout | undefined;
  #armed = false;
  #satisfied = false;
  #ended = false;

  constructor(inner: SttSession, provider: string, ms: number) {
    this.#inner = inner;
    this.#provider = provider;
    this.#ms = ms;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for await (const e of this.#inner.events()) {
        if (e.type === 'speech_started') this.#arm();
        if (e.type === 'transcript' && !this.#satisfied) {
          this.#satisfied = true;
          clearTimeout(this.#timer);
        }
        if (e.type === 'closed') clearTimeout(this.#timer);
        this.#events.push(e);
      }
    } finally {
      this.#ended = true;
      clearTimeout(this.#timer);
      this.#events.close();
    }
  }

  #arm(): void {
    if (this.#armed || this.#satisfied) return;
    this.#armed = true;
    // Calls after close are ignored by the session; they must not start a deadline either.
    if (this.#ended) return;
    this.#timer = setTimeout(() => {
      if (this.#satisfied) return;
      const error = timeoutError(this.#provider, 'first transcript', this.#ms);
      this.#events.push({ type: 'error', error, retryable: true });
      void this.#inner.close();
    }, this.#ms);
  }

  write(frame: AudioFrame): void {
    this.#inner.write(frame);
  }
  writeEncoded(bytes: Uint8Array): void {
    this.#inner.writeEncoded(bytes);
  }
  keepAlive(): void {
    this.#inner.keepAlive();
  }
  finalize(): void {
    this.#arm();
    this.#inner.finalize();
  }
  events(): AsyncIterable<SttEvent> {
    return this.#events;
  }
  async close(): Promise<void> {
    this.#ended = true;
    clearTimeout(this.#timer);
    await this.#inner.close();
  }
}
