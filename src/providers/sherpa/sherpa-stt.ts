/**
 * Sherpa-ONNX streaming STT (`sherpa-onnx-node`, online recogniser): transducer, paraformer or
 * zipformer2 CTC models from a model directory. The offline answer for narrowband calls: 8 kHz
 * input is accepted as is, because sherpa resamples to the model's feature rate
 * (`featureSampleRate`, 16 kHz for the released models) internally.
 *
 * Call `init()` at start-up: it validates the model directory (a `ModelDirError` naming what is
 * missing) and loads the model, which takes seconds of synchronous native work that should not
 * land on the first call. The native module is loaded there too, never at import.
 */
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, SttProvider, SttSession, SttSessionOptions } from '../types.ts';
import { loadSherpaModule, type SherpaModule, type SherpaOnlineRecognizer } from './sherpa-module.ts';
import { probeModelLoad } from './sherpa-probe.ts';
import { SherpaSttSession } from './sherpa-stt-session.ts';
import { ModelDirError, validateSttModelDir, type SherpaSttModelFiles, type SherpaSttModelType } from './validate-model-dir.ts';

export interface SherpaSttOptions {
  readonly modelDir: string;
  /** Detected from the files present when absent. */
  readonly modelType?: SherpaSttModelType;
  /** Use `.int8.onnx` files when present. Default true (faster on CPU). */
  readonly preferInt8?: boolean;
  /** ONNX Runtime threads per recogniser. Default 1. */
  readonly numThreads?: number;
  /** Default 'greedy_search'. */
  readonly decodingMethod?: 'greedy_search' | 'modified_beam_search';
  /** The model's feature sample rate. Default 16000. */
  readonly featureSampleRate?: number;
  /** Default 80. */
  readonly featureDim?: number;
  /** Endpoint rules (seconds / frames), sherpa's names. Defaults 2.4 / 0.8 / 20. */
  readonly rule1MinTrailingSilence?: number;
  readonly rule2MinTrailingSilence?: number;
  readonly rule3MinUtteranceLength?: number;
  /** Silence appended at finalize/close. Default 0.5 s. */
  readonly tailPaddingSec?: number;
  readonly logger?: Logger;
  /**
   * Load the model once in a child process before loading it here, because sherpa-onnx exits or
   * aborts the process on some bad models instead of throwing. Default true (false when
   * `loadModule` is given).
   */
  readonly probe?: boolean;
  /** Replaces the native module (tests). */
  readonly loadModule?: () => SherpaModule;
}

const NAME = 'sherpa-onnx';

/** The recogniser config `sherpa-onnx-node` expects for these files. */
export function onlineRecognizerConfig(files: SherpaSttModelFiles, o: SherpaSttOptions): object {
  const model =
    files.type === 'transducer'
      ? { transducer: { encoder: files.encoder, decoder: files.decoder, joiner: files.joiner } }
      : files.type === 'paraformer'
        ? { paraformer: { encoder: files.encoder, decoder: files.decoder } }
        : { zipformer2Ctc: { model: files.model } };
  return {
    featConfig: { sampleRate: o.featureSampleRate ?? 16000, featureDim: o.featureDim ?? 80 },
    modelConfig: { ...model, tokens: files.tokens, numThreads: o.numThreads ?? 1, provider: 'cpu', debug: 0 },
    decodingMethod: o.decodingMethod ?? 'greedy_search',
    maxActivePaths: 4,
    enableEndpoint: 1,
    rule1MinTrailingSilence: o.rule1MinTrailingSilence ?? 2.4,
    rule2MinTrailingSilence: o.rule2MinTrailingSilence ?? 0.8,
    rule3MinUtteranceLength: o.rule3MinUtteranceLength ?? 20,
  };
}

export class SherpaStt implements SttProvider {
  readonly name = NAME;
  readonly encodings: readonly AudioEncoding[] = ['pcm_s16le'];
  readonly #o: SherpaSttOptions;
  readonly #logger: Logger;
  #recognizer: SherpaOnlineRecognizer | undefined;
  #loading: Promise<SherpaOnlineRecognizer> | undefined;

  constructor(options: SherpaSttOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: NAME });
  }

  supportsSampleRate(sampleRate: number): boolean {
    return Number.isInteger(sampleRate) && sampleRate >= 8000 && sampleRate <= 48000;
  }

  /** Check the model directory; throws `ModelDirError` naming every missing file. */
  validate(): SherpaSttModelFiles {
    return validateSttModelDir(this.#o.modelDir, {
      ...(this.#o.modelType !== undefined ? { type: this.#o.modelType } : {}),
      ...(this.#o.preferInt8 !== undefined ? { preferInt8: this.#o.preferInt8 } : {}),
    });
  }

  /**
   * Validate, probe and load the model (once; concurrent callers share the work).
   * Rejects with `ModelDirError` or a non-retryable ProviderError.
   */
  init(): Promise<SherpaOnlineRecognizer> {
    this.#loading ??= this.#load().catch((err: unknown) => {
      this.#loading = undefined;
      throw err;
    });
    return this.#loading;
  }

  async #load(): Promise<SherpaOnlineRecognizer> {
    const files = this.validate();
    const config = onlineRecognizerConfig(files, this.#o);
    if (this.#o.probe ?? this.#o.loadModule === undefined) await probeModelLoad(NAME, 'online-recognizer', config);
    const sherpa = (this.#o.loadModule ?? (() => loadSherpaModule(NAME)))();
    try {
      // Synchronous native work (seconds for big models): one reason to call init() at start-up.
      this.#recognizer = new sherpa.OnlineRecognizer(config);
    } catch (err) {
      throw new ProviderError(NAME, 'CR_PROVIDER_CONFIG', `model in ${this.#o.modelDir} failed to load: ${errorMessage(err)}`, {
        retryable: false,
        cause: err,
      });
    }
    this.#logger.info({ modelDir: this.#o.modelDir, type: files.type }, 'sherpa: recogniser loaded');
    return this.#recognizer;
  }

  async open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    if (signal?.aborted) throw new AbortedError();
    if (!this.supportsSampleRate(options.sampleRate)) {
      throw new ProviderError(NAME, 'CR_PROVIDER_UNSUPPORTED', `sample rate ${options.sampleRate}`, { retryable: false });
    }
    if ((options.encoding ?? 'pcm_s16le') !== 'pcm_s16le') {
      throw new ProviderError(NAME, 'CR_PROVIDER_UNSUPPORTED', `encoding ${options.encoding}`, { retryable: false });
    }
    let rec: SherpaOnlineRecognizer;
    try {
      rec = this.#recognizer ?? (await this.init());
    } catch (err) {
      if (err instanceof ModelDirError) {
        throw new ProviderError(NAME, 'CR_PROVIDER_CONFIG', err.message, { retryable: false, cause: err });
      }
      throw err;
    }
    if (signal?.aborted) throw new AbortedError();
    return new SherpaSttSession(
      rec,
      rec.createStream(),
      { provider: NAME, sampleRate: options.sampleRate, tailPaddingSec: this.#o.tailPaddingSec ?? 0.5, logger: this.#logger },
      signal,
    );
  }
}
