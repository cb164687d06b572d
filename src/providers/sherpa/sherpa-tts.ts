/**
 * Sherpa-ONNX offline TTS (`sherpa-onnx-node` OfflineTts): vits/piper or kokoro models from a
 * model directory. The text stream is cut by the shared text chunker (first clause, then
 * sentences; not inside numbers, abbreviations or URLs) and each chunk's audio is streamed out as
 * the engine generates it (its progress callback), so the first audio does not wait for the whole
 * reply. Aborting stops generation from the callback. When the requested rate is not the model's,
 * audio goes through the media resampler (src/media/resample), not sherpa's LinearResampler: that
 * one is a plain linear interpolator, so a 9 kHz component of 24 kHz audio came out folded to
 * 7 kHz at -17 dB after 24k -> 16k, where the media resampler rejects it by more than 80 dB.
 *
 * Call `init()` at start-up: it validates the model directory (a `ModelDirError` naming what is
 * missing) and loads the model off the main thread (`OfflineTts.createAsync`).
 */
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { AbortedError, errorMessage, isCallroomError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import { ProviderError } from '../provider-error.ts';
import { chunkText, type TextChunkerOptions } from '../text-chunker.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { probeModelLoad } from './sherpa-probe.ts';
import { loadSherpaModule, type SherpaModule, type SherpaOfflineTts } from './sherpa-module.ts';
import { ModelDirError, validateTtsModelDir, type SherpaTtsModelFiles, type SherpaTtsModelType } from './validate-model-dir.ts';

export interface SherpaTtsOptions {
  readonly modelDir: string;
  /** Detected from the files present when absent (voices.bin -> kokoro). */
  readonly modelType?: SherpaTtsModelType;
  /** Speaker id for multi-speaker models. Default 0. */
  readonly speakerId?: number;
  /** Default 1.0. */
  readonly speed?: number;
  /** Default 1. */
  readonly numThreads?: number;
  readonly logger?: Logger;
  /** Where the text stream is cut (the shared chunker's defaults when absent). */
  readonly chunker?: TextChunkerOptions;
  /**
   * Load the model once in a child process first, because sherpa-onnx exits or aborts the process
   * on some bad models instead of throwing. Default true (false when `loadModule` is given).
   */
  readonly probe?: boolean;
  /** Replaces the native module (tests). */
  readonly loadModule?: () => SherpaModule;
}

const NAME = 'sherpa-onnx-tts';
const RATES: readonly number[] = [8000, 16000, 22050, 24000, 44100, 48000];

/** The OfflineTts config `sherpa-onnx-node` expects for these files. */
export function offlineTtsConfig(files: SherpaTtsModelFiles, o: SherpaTtsOptions): object {
  const common = {
    model: files.model,
    tokens: files.tokens,
    ...(files.dataDir !== undefined ? { dataDir: files.dataDir } : {}),
    ...(files.lexicon !== undefined ? { lexicon: files.lexicon } : {}),
  };
  return {
    model: {
      ...(files.type === 'kokoro' ? { kokoro: { ...common, voices: files.voices } } : { vits: common }),
      numThreads: o.numThreads ?? 1,
      provider: 'cpu',
      debug: 0,
    },
    maxNumSentences: 1,
  };
}

function toInt16(f: Float32Array): Int16Array {
  const out = new Int16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = (f[i] as number) * 32767;
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

export class SherpaTts implements TtsProvider {
  readonly name = NAME;
  readonly encodings: readonly AudioEncoding[] = ['pcm_s16le'];
  readonly sampleRates: readonly number[] = RATES;
  readonly #o: SherpaTtsOptions;
  readonly #logger: Logger;
  #tts: Promise<SherpaOfflineTts> | undefined;

  constructor(options: SherpaTtsOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: NAME });
  }

  validate(): SherpaTtsModelFiles {
    return validateTtsModelDir(this.#o.modelDir, this.#o.modelType !== undefined ? { type: this.#o.modelType } : {});
  }

  /** Validate and load the model (once). Throws `ModelDirError` or a non-retryable ProviderError. */
  init(): Promise<SherpaOfflineTts> {
    this.#tts ??= this.#load().catch((err: unknown) => {
      this.#tts = undefined;
      throw err;
    });
    return this.#tts;
  }

  async #load(): Promise<SherpaOfflineTts> {
    const files = this.validate();
    const config = offlineTtsConfig(files, this.#o);
    if (this.#o.probe ?? this.#o.loadModule === undefined) await probeModelLoad(NAME, 'offline-tts', config);
    const sherpa: SherpaModule = (this.#o.loadModule ?? (() => loadSherpaModule(NAME)))();
    let tts: SherpaOfflineTts;
    try {
      tts = await sherpa.OfflineTts.createAsync(config);
    } catch (err) {
      throw new ProviderError(NAME, 'CR_PROVIDER_CONFIG', `model in ${this.#o.modelDir} failed to load: ${errorMessage(err)}`, {
        retryable: false,
        cause: err,
      });
    }
    this.#logger.info({ modelDir: this.#o.modelDir, type: files.type, sampleRate: tts.sampleRate }, 'sherpa: tts loaded');
    return tts;
  }

  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    if (signal?.aborted) return;
    if (request.encoding !== 'pcm_s16le' || !RATES.includes(request.sampleRate)) {
      throw new ProviderError(NAME, 'CR_PROVIDER_UNSUPPORTED', `${request.encoding}@${request.sampleRate}`, { retryable: false });
    }
    let tts: SherpaOfflineTts;
    try {
      tts = await this.init();
    } catch (err) {
      if (err instanceof ModelDirError) throw new ProviderError(NAME, 'CR_PROVIDER_CONFIG', err.message, { retryable: false, cause: err });
      throw err;
    }
    const resampler = tts.sampleRate === request.sampleRate ? undefined : createResampler(tts.sampleRate, request.sampleRate);
    // The filter's group delay is dropped from the start so the output is as long as the input
    // (flush() returns the delayed end) and the first audio is not pushed back.
    const out = { resampler, skip: resampler === undefined ? 0 : Math.round(resampler.delay) };
    try {
      for await (const chunk of chunkText(request.text, this.#o.chunker ?? {}, signal)) {
        for await (const audio of this.#speak(tts, chunk, request.sampleRate, out, signal)) {
          if (signal?.aborted) return;
          yield audio;
        }
        if (signal?.aborted) return;
      }
      const tail = resampler?.flush().subarray(out.skip);
      if (tail !== undefined && tail.length > 0 && !signal?.aborted) {
        yield { type: 'audio', encoding: 'pcm_s16le', sampleRate: request.sampleRate, pcm: tail.slice() };
      }
      if (!signal?.aborted) yield { type: 'done' };
    } catch (err) {
      if (signal?.aborted || err instanceof AbortedError) return;
      throw toProviderError(err);
    } finally {
      resampler?.close();
    }
  }

  /** One chunk of text, streamed from the engine's progress callback. */
  async *#speak(
    tts: SherpaOfflineTts,
    text: string,
    rate: number,
    out: { readonly resampler: Resampler | undefined; skip: number },
    signal?: AbortSignal,
  ): AsyncGenerator<TtsChunk> {
    const chunks = new BoundedChannel<TtsChunk>(4096, 'drop-oldest');
    let streamed = false;
    // Set when the consumer stopped early: the progress callback then tells the engine to stop,
    // and nothing more goes through the resampler (it is closed once synthesis ends).
    let stopped = false;
    const emit = (f: Float32Array): void => {
      if (stopped || signal?.aborted) return;
      const linear = toInt16(f);
      if (out.resampler === undefined) {
        if (linear.length > 0) chunks.push({ type: 'audio', encoding: 'pcm_s16le', sampleRate: rate, pcm: linear });
        return;
      }
      let resampled = out.resampler.process(linear);
      if (out.skip > 0) {
        const n = Math.min(out.skip, resampled.length);
        out.skip -= n;
        resampled = resampled.subarray(n);
      }
      if (resampled.length > 0) chunks.push({ type: 'audio', encoding: 'pcm_s16le', sampleRate: rate, pcm: resampled.slice() });
    };
    const generation = tts
      .generateAsync({
        text,
        sid: this.#o.speakerId ?? 0,
        speed: this.#o.speed ?? 1.0,
        onProgress: (p) => {
          if (stopped || signal?.aborted) return 0;
          streamed = true;
          emit(p.samples);
          return 1;
        },
      })
      .then(
        (audio) => {
          // Engines that do not stream through the callback deliver everything here.
          if (!streamed && !signal?.aborted) emit(audio.samples);
          chunks.close();
        },
        (err: unknown) => {
          chunks.close(new ProviderError(NAME, 'CR_PROVIDER_INTERNAL', `synthesis failed: ${errorMessage(err)}`, { retryable: false, cause: err }));
        },
      );
    const onAbort = (): void => chunks.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const c of chunks) yield c;
    } finally {
      stopped = true;
      signal?.removeEventListener('abort', onAbort);
      // Waiting for the engine to wind down (it stops at its next progress callback) keeps
      // native work from outliving the synthesis; an abort does not wait.
      if (signal?.aborted !== true) await generation;
    }
  }
}

/** Errors from the text stream keep their type if typed; anything else becomes a ProviderError. */
function toProviderError(err: unknown): unknown {
  if (isCallroomError(err)) return err;
  return new ProviderError(NAME, 'CR_PROVIDER_INTERNAL', `text stream failed: ${errorMessage(err)}`, { retryable: false, cause: err });
}
