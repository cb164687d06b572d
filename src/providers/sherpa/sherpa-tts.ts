/**
 * Sherpa-ONNX offline TTS (`sherpa-onnx-node` OfflineTts): vits/piper or kokoro models from a
 * model directory. Text is spoken sentence by sentence as it streams in, and each sentence's
 * audio is streamed out as the engine generates it (its progress callback), so the first audio
 * does not wait for the whole reply. Aborting stops generation from the callback. Audio is
 * resampled with sherpa's linear resampler when the requested rate is not the model's.
 *
 * Call `init()` at start-up: it validates the model directory (a `ModelDirError` naming what is
 * missing) and loads the model off the main thread (`OfflineTts.createAsync`).
 */
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { probeModelLoad } from './sherpa-probe.ts';
import { loadSherpaModule, type SherpaLinearResampler, type SherpaModule, type SherpaOfflineTts } from './sherpa-module.ts';
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
/** A sentence ends at terminal punctuation (plus closing quotes/brackets) followed by whitespace. */
const SENTENCE_END = /[.!?;…]["'”’)\]]*\s+/g;

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

/** Split off complete sentences; returns [sentences, rest]. */
export function takeSentences(buffer: string): [string[], string] {
  let last = 0;
  const out: string[] = [];
  for (const m of buffer.matchAll(SENTENCE_END)) {
    const end = (m.index ?? 0) + m[0].length;
    const s = buffer.slice(last, end).trim();
    if (s !== '') out.push(s);
    last = end;
  }
  return [out, buffer.slice(last)];
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
  #module: SherpaModule | undefined;

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
    const sherpa = (this.#o.loadModule ?? (() => loadSherpaModule(NAME)))();
    this.#module = sherpa;
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
    const resampler =
      tts.sampleRate === request.sampleRate ? undefined : new (this.#module as SherpaModule).LinearResampler(tts.sampleRate, request.sampleRate);
    let buffer = '';
    const it = request.text[Symbol.asyncIterator]();
    for (;;) {
      const r = await this.#next(it, signal);
      if (r === 'aborted') return;
      if (r.done !== true) buffer += r.value;
      const [sentences, rest] = r.done === true ? [[buffer.trim()].filter((s) => s !== ''), ''] : takeSentences(buffer);
      buffer = rest;
      for (const sentence of sentences) {
        for await (const chunk of this.#speak(tts, sentence, request.sampleRate, resampler, signal)) {
          if (signal?.aborted) return;
          yield chunk;
        }
        if (signal?.aborted) return;
      }
      if (r.done === true) break;
    }
    if (resampler !== undefined) {
      const tail = toInt16(resampler.flush(new Float32Array(0)));
      if (tail.length > 0 && !signal?.aborted) yield { type: 'audio', encoding: 'pcm_s16le', sampleRate: request.sampleRate, pcm: tail };
    }
    if (!signal?.aborted) yield { type: 'done' };
  }

  /** The next text piece, raced against abort (a model's token stream cannot be cancelled). */
  async #next(it: AsyncIterator<string>, signal?: AbortSignal): Promise<IteratorResult<string> | 'aborted'> {
    if (signal === undefined) return it.next();
    if (signal.aborted) return 'aborted';
    let onAbort: (() => void) | undefined;
    try {
      const r = await Promise.race([
        it.next(),
        new Promise<'aborted'>((resolve) => {
          onAbort = () => resolve('aborted');
          signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
      if (r === 'aborted') void it.return?.()?.catch(() => undefined);
      return r;
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  /** One sentence, streamed from the engine's progress callback. */
  async *#speak(
    tts: SherpaOfflineTts,
    text: string,
    rate: number,
    resampler: SherpaLinearResampler | undefined,
    signal?: AbortSignal,
  ): AsyncGenerator<TtsChunk> {
    const chunks = new BoundedChannel<TtsChunk>(4096, 'drop-oldest');
    let streamed = false;
    // Set when the consumer stopped early: the progress callback then tells the engine to stop.
    let stopped = false;
    const emit = (f: Float32Array): void => {
      const pcm = toInt16(resampler === undefined ? f : resampler.resample(f));
      if (pcm.length > 0) chunks.push({ type: 'audio', encoding: 'pcm_s16le', sampleRate: rate, pcm });
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
