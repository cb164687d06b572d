/**
 * Retry wrappers. STT retries `open()`; TTS and LLM retry until the first chunk/event has been
 * handed on, never after: repeating audio the caller already played, or half a model turn, is
 * worse than failing. The text of a TTS request is replayed to each attempt.
 */
import type { LlmEvent, LlmProvider, LlmRequest, SttProvider, SttSession, SttSessionOptions, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { systemClock } from '../../core/clock.ts';
import { backoffDelay, DEFAULT_RETRY, isRetryable, retry, sleepOn, type RetryOptions, type RetryPolicy } from './backoff.ts';
import { ReplayableText } from './replayable-text.ts';

/** Retry a stream-producing call while nothing has been yielded yet. */
async function* retryStream<T>(
  start: (attempt: number) => AsyncIterable<T>,
  options: RetryOptions,
  signal: AbortSignal | undefined,
): AsyncGenerator<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options };
  const clock = options.clock ?? systemClock();
  for (let attempt = 1; ; attempt++) {
    let yielded = false;
    try {
      for await (const item of start(attempt)) {
        yielded = true;
        yield item;
      }
      return;
    } catch (err) {
      if (yielded || !isRetryable(err) || attempt >= policy.attempts || signal?.aborted === true) throw err;
      const delay = backoffDelay(attempt, policy, options.random);
      options.onRetry?.(attempt, err, delay);
      try {
        await sleepOn(clock, delay, signal);
      } catch {
        return; // aborted while waiting: end like an aborted stream
      }
    }
  }
}

export class RetryingStt implements SttProvider {
  readonly #inner: SttProvider;
  readonly #options: RetryOptions;
  constructor(inner: SttProvider, options: RetryOptions = {}) {
    this.#inner = inner;
    this.#options = options;
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
  open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    return retry(() => this.#inner.open(options, signal), this.#options, signal);
  }
}

export class RetryingTts implements TtsProvider {
  readonly #inner: TtsProvider;
  readonly #options: RetryOptions;
  constructor(inner: TtsProvider, options: RetryOptions = {}) {
    this.#inner = inner;
    this.#options = options;
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
  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    const text = new ReplayableText(request.text);
    try {
      yield* retryStream((_) => this.#inner.synthesize({ ...request, text: text.reader() }, signal), this.#options, signal);
    } finally {
      text.close();
    }
  }
}

export class RetryingLlm implements LlmProvider {
  readonly #inner: LlmProvider;
  readonly #options: RetryOptions;
  constructor(inner: LlmProvider, options: RetryOptions = {}) {
    this.#inner = inner;
    this.#options = options;
  }
  get name(): string {
    return this.#inner.name;
  }
  stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    return retryStream(() => this.#inner.stream(request, signal), this.#options, signal);
  }
}
