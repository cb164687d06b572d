/**
 * Fallback across providers (cloud -> offline). The next provider takes over when `open()` (STT)
 * or the first chunk/event (TTS, LLM) fails with a retryable or an authentication error; once
 * output has reached the caller there is no switching. Providers that cannot serve the request's
 * sample rate or encoding are skipped up front, with a log line saying so (a wideband-only
 * recogniser on a narrowband call must not quietly produce garbage). `onServed` says which
 * provider actually served, for the call record.
 */
import { AbortedError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type {
  AudioEncoding,
  LlmEvent,
  LlmProvider,
  LlmRequest,
  SttProvider,
  SttSession,
  SttSessionOptions,
  TtsChunk,
  TtsProvider,
  TtsRequest,
} from '../types.ts';
import { emitMetric, type ProviderKind, type ProviderMetrics } from './provider-metrics.ts';
import { ReplayableText } from './replayable-text.ts';

export interface FallbackOptions {
  readonly metrics?: ProviderMetrics;
  readonly logger?: Logger;
  /** Called once per request with the provider that served it. */
  readonly onServed?: (e: { readonly kind: ProviderKind; readonly provider: string }) => void;
}

/** Whether the next provider should get a chance after `err`. */
export function shouldFallback(err: unknown): boolean {
  return err instanceof ProviderError && (err.retryable || err.code === 'CR_PROVIDER_AUTH');
}

function noneFits(kind: ProviderKind, what: string): ProviderError {
  return new ProviderError(`fallback-${kind}`, 'CR_PROVIDER_UNSUPPORTED', `no provider supports ${what}`, { retryable: false });
}

abstract class FallbackBase<P extends { readonly name: string }> {
  readonly providers: readonly P[];
  protected readonly options: FallbackOptions;
  protected readonly logger: Logger;
  protected abstract readonly kind: ProviderKind;

  constructor(providers: readonly P[], options: FallbackOptions = {}) {
    if (providers.length === 0) throw new RangeError('fallback needs at least one provider');
    this.providers = providers;
    this.options = options;
    this.logger = options.logger ?? silentLogger();
  }

  get name(): string {
    return `fallback(${this.providers.map((p) => p.name).join(',')})`;
  }

  /** Providers that fit, logging the ones skipped. */
  protected candidates(fits: (p: P) => boolean, what: string): P[] {
    const out: P[] = [];
    for (const p of this.providers) {
      if (fits(p)) out.push(p);
      else this.logger.info({ kind: this.kind, provider: p.name, need: what }, 'fallback: provider skipped, cannot serve this format');
    }
    if (out.length === 0) throw noneFits(this.kind, what);
    return out;
  }

  protected served(provider: string): void {
    this.logger.info({ kind: this.kind, provider }, 'fallback: provider serving');
    this.options.onServed?.({ kind: this.kind, provider });
  }

  /** Decide after a failure of `from`; rethrows when there is nothing (else) to try. */
  protected failed(err: unknown, from: P, to: P | undefined, signal: AbortSignal | undefined): void {
    if (signal?.aborted === true || to === undefined || !shouldFallback(err)) throw err;
    this.logger.warn(
      { kind: this.kind, from: from.name, to: to.name, code: (err as ProviderError).code },
      'fallback: provider failed, trying the next',
    );
    emitMetric(this.options.metrics, 'onFallback', { kind: this.kind, from: from.name, to: to.name, error: err });
  }
}

export class FallbackStt extends FallbackBase<SttProvider> implements SttProvider {
  protected readonly kind = 'stt';

  get encodings(): readonly AudioEncoding[] {
    return [...new Set(this.providers.flatMap((p) => p.encodings))];
  }

  supportsSampleRate(rate: number): boolean {
    return this.providers.some((p) => p.supportsSampleRate(rate));
  }

  async open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    return (await this.openServed(options, signal)).session;
  }

  /** Like `open`, also naming the provider that served. */
  async openServed(options: SttSessionOptions, signal?: AbortSignal): Promise<{ session: SttSession; provider: string }> {
    if (signal?.aborted) throw new AbortedError();
    const enc = options.encoding;
    const list = this.candidates(
      (p) => p.supportsSampleRate(options.sampleRate) && (enc === undefined || p.encodings.includes(enc)),
      `${options.sampleRate} Hz ${enc ?? 'pcm_s16le'}`,
    );
    for (let i = 0; ; i++) {
      const p = list[i] as SttProvider;
      try {
        const session = await p.open(options, signal);
        this.served(p.name);
        return { session, provider: p.name };
      } catch (err) {
        this.failed(err, p, list[i + 1], signal);
      }
    }
  }
}

export class FallbackTts extends FallbackBase<TtsProvider> implements TtsProvider {
  protected readonly kind = 'tts';

  get encodings(): readonly AudioEncoding[] {
    return [...new Set(this.providers.flatMap((p) => p.encodings))];
  }

  get sampleRates(): readonly number[] {
    return [...new Set(this.providers.flatMap((p) => p.sampleRates))];
  }

  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    if (signal?.aborted) return;
    const list = this.candidates(
      (p) => p.encodings.includes(request.encoding) && p.sampleRates.includes(request.sampleRate),
      `${request.encoding}@${request.sampleRate}`,
    );
    const text = new ReplayableText(request.text);
    try {
      for (let i = 0; ; i++) {
        const p = list[i] as TtsProvider;
        let yielded = false;
        try {
          for await (const c of p.synthesize({ ...request, text: text.reader() }, signal)) {
            if (!yielded) {
              yielded = true;
              this.served(p.name);
            }
            yield c;
          }
          return;
        } catch (err) {
          if (yielded) throw err;
          this.failed(err, p, list[i + 1], signal);
        }
      }
    } finally {
      text.close();
    }
  }
}

export class FallbackLlm extends FallbackBase<LlmProvider> implements LlmProvider {
  protected readonly kind = 'llm';

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncGenerator<LlmEvent> {
    for (let i = 0; ; i++) {
      const p = this.providers[i] as LlmProvider;
      let yielded = false;
      try {
        for await (const e of p.stream(request, signal)) {
          if (!yielded) {
            yielded = true;
            this.served(p.name);
          }
          yield e;
        }
        return;
      } catch (err) {
        if (yielded) throw err;
        this.failed(err, p, this.providers[i + 1], signal);
      }
    }
  }
}
