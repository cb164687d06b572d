/**
 * Metrics wrappers: report requests, first-result latency and errors through `ProviderMetrics`.
 * The STT session wrapper adds one boolean check per written frame and nothing else on the
 * media path.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
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
import { emitMetric, type ProviderKind, type ProviderMetrics } from './provider-metrics.ts';

const retryableOf = (err: unknown): boolean => err instanceof ProviderError && err.retryable;

async function* meterStream<T>(
  kind: ProviderKind,
  provider: string,
  metrics: ProviderMetrics,
  source: () => AsyncIterable<T>,
  isResult: (item: T) => boolean,
): AsyncGenerator<T> {
  const t0 = performance.now();
  let first = true;
  emitMetric(metrics, 'onRequest', { kind, provider });
  try {
    for await (const item of source()) {
      if (first && isResult(item)) {
        first = false;
        emitMetric(metrics, 'onFirstResult', { kind, provider, latencyMs: performance.now() - t0 });
      }
      yield item;
    }
  } catch (err) {
    emitMetric(metrics, 'onError', { kind, provider, error: err, retryable: retryableOf(err) });
    throw err;
  }
}

export class MeteredTts implements TtsProvider {
  readonly #inner: TtsProvider;
  readonly #metrics: ProviderMetrics;
  constructor(inner: TtsProvider, metrics: ProviderMetrics) {
    this.#inner = inner;
    this.#metrics = metrics;
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
    return meterStream('tts', this.name, this.#metrics, () => this.#inner.synthesize(request, signal), (c) => c.type === 'audio');
  }
}

export class MeteredLlm implements LlmProvider {
  readonly #inner: LlmProvider;
  readonly #metrics: ProviderMetrics;
  constructor(inner: LlmProvider, metrics: ProviderMetrics) {
    this.#inner = inner;
    this.#metrics = metrics;
  }
  get name(): string {
    return this.#inner.name;
  }
  stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    return meterStream('llm', this.name, this.#metrics, () => this.#inner.stream(request, signal), () => true);
  }
}

export class MeteredStt implements SttProvider {
  readonly #inner: SttProvider;
  readonly #metrics: ProviderMetrics;
  constructor(inner: SttProvider, metrics: ProviderMetrics) {
    this.#inner = inner;
    this.#metrics = metrics;
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
    emitMetric(this.#metrics, 'onRequest', { kind: 'stt', provider: this.name });
    try {
      return new MeteredSttSession(await this.#inner.open(options, signal), this.name, this.#metrics);
    } catch (err) {
      emitMetric(this.#metrics, 'onError', { kind: 'stt', provider: this.name, error: err, retryable: retryableOf(err) });
      throw err;
    }
  }
}

class MeteredSttSession implements SttSession {
  readonly #inner: SttSession;
  readonly #provider: string;
  readonly #metrics: ProviderMetrics;
  #firstAudioAt = -1;

  constructor(inner: SttSession, provider: string, metrics: ProviderMetrics) {
    this.#inner = inner;
    this.#provider = provider;
    this.#metrics = metrics;
  }
  write(frame: AudioFrame): void {
    if (this.#firstAudioAt < 0) this.#firstAudioAt = performance.now();
    this.#inner.write(frame);
  }
  writeEncoded(bytes: Uint8Array): void {
    if (this.#firstAudioAt < 0) this.#firstAudioAt = performance.now();
    this.#inner.writeEncoded(bytes);
  }
  keepAlive(): void {
    this.#inner.keepAlive();
  }
  finalize(): void {
    this.#inner.finalize();
  }
  async *events(): AsyncGenerator<SttEvent> {
    let first = true;
    for await (const e of this.#inner.events()) {
      if (first && e.type === 'transcript' && this.#firstAudioAt >= 0) {
        first = false;
        emitMetric(this.#metrics, 'onFirstResult', { kind: 'stt', provider: this.#provider, latencyMs: performance.now() - this.#firstAudioAt });
      } else if (e.type === 'error') {
        emitMetric(this.#metrics, 'onError', { kind: 'stt', provider: this.#provider, error: e.error, retryable: e.retryable });
      }
      yield e;
    }
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
