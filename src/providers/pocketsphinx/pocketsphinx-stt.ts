/**
 * Offline streaming STT with Debian's pocketsphinx (libpocketsphinx.so.3 through koffi FFI) and the
 * `pocketsphinx-en-us` models.
 *
 * The acoustic model is wideband (16 kHz, filterbank to 6.8 kHz). On 8 kHz audio it produces "one" or
 * word salad, so this provider refuses narrowband sessions with CR_STT_NARROWBAND_UNSUPPORTED instead
 * of quietly returning garbage: `supportsSampleRate` says no, `open()` throws that typed error and
 * logs a warning (the logger is a required option, so the line cannot be silently dropped), and
 * FallbackStt reports the skip with that code (`onSkipped`, `onServed().skipped`) for the call record
 * while it picks another engine (Sherpa-ONNX with a narrowband model). Rates above 16 kHz are
 * resampled to 16 kHz.
 */
import { AbortedError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { createResampler } from '../../media/resample/index.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, SttProvider, SttSession, SttSessionOptions } from '../types.ts';
import { POCKETSPHINX_SAMPLE_RATE, PocketsphinxPool, type PocketsphinxPoolOptions } from './decoder-pool.ts';
import { PocketsphinxSession } from './pocketsphinx-session.ts';

export interface PocketsphinxSttOptions extends PocketsphinxPoolOptions {
  /** Share a decoder pool between providers; otherwise the provider makes its own. */
  readonly pool?: PocketsphinxPool;
  /** Audio per decoder call, i.e. the interim cadence (default 100 ms). */
  readonly chunkMs?: number;
  /**
   * Required: a narrowband refusal and dropped audio must show in the logs. Tests that do not
   * look at the lines pass `silentLogger()` explicitly.
   */
  readonly logger: Logger;
  /** Audio held for the decoder when it falls behind, in ms (default 5000); the oldest is dropped beyond it. */
  readonly maxQueueMs?: number;
}

/** Highest rate accepted (resampled down to 16 kHz). */
const MAX_RATE = 192_000;

export class PocketsphinxStt implements SttProvider {
  readonly name = 'pocketsphinx';
  readonly encodings: readonly AudioEncoding[] = ['pcm_s16le', 'mulaw', 'alaw'];
  readonly #pool: PocketsphinxPool;
  readonly #ownsPool: boolean;
  readonly #chunkMs: number;
  readonly #maxQueueMs: number;
  readonly #logger: Logger;

  constructor(options: PocketsphinxSttOptions) {
    this.#ownsPool = options.pool === undefined;
    this.#pool = options.pool ?? new PocketsphinxPool(options);
    this.#chunkMs = options.chunkMs ?? 100;
    this.#maxQueueMs = options.maxQueueMs ?? 5000;
    this.#logger = options.logger.child({ provider: this.name });
  }

  /** Wideband only: 16 kHz and up. */
  supportsSampleRate(sampleRate: number): boolean {
    return Number.isInteger(sampleRate) && sampleRate >= POCKETSPHINX_SAMPLE_RATE && sampleRate <= MAX_RATE;
  }

  async open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    if (signal?.aborted) throw new AbortedError();
    const rate = options.sampleRate;
    if (!this.supportsSampleRate(rate)) {
      if (Number.isInteger(rate) && rate > 0 && rate < POCKETSPHINX_SAMPLE_RATE) {
        this.#logger.warn(
          { sampleRate: rate, code: 'CR_STT_NARROWBAND_UNSUPPORTED' },
          'pocketsphinx refuses narrowband audio (wideband acoustic model)',
        );
        throw new ProviderError(
          this.name,
          'CR_STT_NARROWBAND_UNSUPPORTED',
          `the en-us acoustic model is wideband (16 kHz); ${rate} Hz audio would give wrong transcripts. Use Sherpa-ONNX with a narrowband model for 8 kHz calls`,
        );
      }
      throw new ProviderError(this.name, 'CR_STT_FORMAT', `unsupported sample rate ${rate}`);
    }
    // The bundled models are US English; `keywords` are not supported by the n-gram search and are ignored.
    if (options.language !== undefined && !/^en(?:[-_]|$)/i.test(options.language)) {
      throw new ProviderError(this.name, 'CR_STT_LANGUAGE', `only English models are installed, not "${options.language}"`);
    }
    const encoding = options.encoding ?? 'pcm_s16le';
    if (!this.encodings.includes(encoding)) throw new ProviderError(this.name, 'CR_STT_FORMAT', `unsupported encoding ${encoding}`);
    const decoder = await this.#pool.acquire(signal);
    if (signal?.aborted) {
      this.#pool.release(decoder);
      throw new AbortedError();
    }
    const resampler = rate === POCKETSPHINX_SAMPLE_RATE ? undefined : createResampler(rate, POCKETSPHINX_SAMPLE_RATE);
    return new PocketsphinxSession(
      decoder,
      this.#pool,
      { sampleRate: rate, encoding, chunkMs: this.#chunkMs, maxQueueMs: this.#maxQueueMs, resampler, logger: this.#logger },
      signal,
    );
  }

  /** Free the decoders (when this provider made the pool). Open sessions keep theirs until they close. */
  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.close();
  }
}
