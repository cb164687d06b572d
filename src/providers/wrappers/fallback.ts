/**
 * Fallback across providers (cloud -> offline). The next provider takes over when `open()` (STT)
 * or the first chunk/event (TTS, LLM) fails with a retryable or an authentication error; once
 * output has reached the caller there is no switching. Providers that cannot serve the request's
 * sample rate or encoding are skipped up front, and an STT provider whose `open()` refuses the
 * audio itself (CR_STT_NARROWBAND_UNSUPPORTED, CR_STT_FORMAT...) is skipped too: each skip is a
 * warn log line and an `onSkipped` call with the reason code, and `onServed` repeats the skips, so
 * the call record can say "pocketsphinx refused: narrowband" (a wideband-only recogniser on a
 * narrowband call must not quietly produce garbage, nor be quietly left out).
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

/** A provider left out of a request because it cannot serve it, and why. */
export interface SkippedProvider {
  readonly kind: ProviderKind;
  readonly provider: string;
  /** Stable reason code, e.g. CR_STT_NARROWBAND_UNSUPPORTED, CR_STT_FORMAT, CR_PROVIDER_UNSUPPORTED. */
  readonly code: string;
  readonly reason: string;
}

export interface FallbackOptions {
  readonly metrics?: ProviderMetrics;
  readonly logger?: Logger;
  /** Called once per request with the provider that served it and the ones skipped before it. */
  readonly onServed?: (e: { readonly kind: ProviderKind; readonly provider: string; readonly skipped: readonly SkippedProvider[] }) => void;
  /** Called for each provider skipped because it cannot serve the request (not for failures). */
  readonly onSkipped?: (e: SkippedProvider) => void;
}

/** Whether the next provider should get a chance after `err`. */
export function shouldFallback(err: unknown): boolean {
  return err instanceof ProviderError && (err.retryable || err.code === 'CR_PROVIDER_AUTH');
}

/**
 * Codes with which a provider's `open()` says it cannot take this audio at all (rate, encoding,
 * language): another provider may, so it is a skip, not a failure of the request.
 */
const REFUSAL_CODES: ReadonlySet<string> = new Set(['CR_STT_NARROWBAND_UNSUPPORTED', 'CR_STT_FORMAT', 'CR_STT_LANGUAGE', 'CR_PROVIDER_UNSUPPORTED']);

/** Whether `err` is a provider refusing the request's format rather than failing. */
export function isRefusal(err: unknown): err is ProviderError {
  return err instanceof ProviderError && !err.retryable && REFUSAL_CODES.has(err.code);
}

/** Sample rates the wideband-only check uses: below this a provider that takes it is "wideband only". */
const WIDEBAND_RATE = 16000;

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

  /** Providers that fit; the others are reported as skipped, with the code `refusal` gives. */
  protected candidates(refusal: (p: P) => string | undefined, what: string, skipped: SkippedProvider[]): P[] {
    const out: P[] = [];
    for (const p of this.providers) {
      const code = refusal(p);
      if (code === undefined) out.push(p);
      else this.skip(skipped, p.name, code, `cannot serve ${what}`);
    }
    if (out.length === 0) throw noneFits(this.kind, what);
    return out;
  }

  protected skip(skipped: SkippedProvider[], provider: string, code: string, reason: string): void {
    const e: SkippedProvider = { kind: this.kind, provider, code, reason };
    skipped.push(e);
    this.logger.warn({ kind: this.kind, provider, code, need: reason }, 'fallback: provider skipped, cannot serve this format');
    try {
      this.options.onSkipped?.(e);
    } catch {
      // A broken call-record hook must not break the call.
    }
  }

  protected served(provider: string, skipped: readonly SkippedProvider[]): void {
    this.logger.info({ kind: this.kind, provider, skipped: skipped.map((s) => `${s.provider}:${s.code}`) }, 'fallback: provider serving');
    try {
      this.options.onServed?.({ kind: this.kind, provider, skipped });
    } catch {
      // As above.
    }
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

  /** Like `open`, also naming the provider that served and the ones skipped (with reason codes). */
  async openServed(
    options: SttSessionOptions,
    signal?: AbortSignal,
  ): Promise<{ session: SttSession; provider: string; skipped: readonly SkippedProvider[] }> {
    if (signal?.aborted) throw new AbortedError();
    const enc = options.encoding;
    const rate = options.sampleRate;
    const skipped: SkippedProvider[] = [];
    const list = this.candidates(
      (p) => {
        if (!p.supportsSampleRate(rate)) {
          // Takes wideband but not this lower rate: the wideband-only refusal pocketsphinx makes.
          return rate < WIDEBAND_RATE && p.supportsSampleRate(WIDEBAND_RATE) ? 'CR_STT_NARROWBAND_UNSUPPORTED' : 'CR_STT_FORMAT';
        }
        return enc === undefined || p.encodings.includes(enc) ? undefined : 'CR_STT_FORMAT';
      },
      `${rate} Hz ${enc ?? 'pcm_s16le'}`,
      skipped,
    );
    for (let i = 0; ; i++) {
      const p = list[i] as SttProvider;
      try {
        const session = await p.open(options, signal);
        this.served(p.name, skipped);
        return { session, provider: p.name, skipped };
      } catch (err) {
        const next = list[i + 1];
        if (isRefusal(err) && signal?.aborted !== true) {
          this.skip(skipped, p.name, err.code, err.message);
          if (next !== undefined) continue;
          throw err;
        }
        this.failed(err, p, next, signal);
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
    const skipped: SkippedProvider[] = [];
    const list = this.candidates(
      (p) => (p.encodings.includes(request.encoding) && p.sampleRates.includes(request.sampleRate) ? undefined : 'CR_PROVIDER_UNSUPPORTED'),
      `${request.encoding}@${request.sampleRate}`,
      skipped,
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
              this.served(p.name, skipped);
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
            this.served(p.name, []);
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
