/**
 * The part of `sherpa-onnx-node` the adapters use, loaded on first use rather than at import:
 * a host without the native libraries can still start with other providers configured.
 * (The package ships JSDoc only, hence the local types; shapes follow its `types.js`.)
 */
import { createRequire } from 'node:module';
import { errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';

export interface SherpaWaveform {
  readonly samples: Float32Array;
  readonly sampleRate: number;
}

export interface SherpaOnlineStream {
  acceptWaveform(w: SherpaWaveform): void;
  inputFinished(): void;
}

/** `OnlineRecognizerResult` as JSON (see sherpa-onnx `OnlineRecognizerResult::AsJsonString`). */
export interface SherpaOnlineResult {
  readonly text: string;
  readonly tokens?: readonly string[];
  readonly timestamps?: readonly number[];
  readonly start_time?: number;
  readonly segment?: number;
  readonly is_final?: boolean;
}

export interface SherpaOnlineRecognizer {
  createStream(): SherpaOnlineStream;
  isReady(s: SherpaOnlineStream): boolean;
  decode(s: SherpaOnlineStream): void;
  isEndpoint(s: SherpaOnlineStream): boolean;
  reset(s: SherpaOnlineStream): void;
  getResult(s: SherpaOnlineStream): SherpaOnlineResult;
}

export interface SherpaTtsProgress {
  readonly samples: Float32Array;
  readonly progress: number;
}

export interface SherpaOfflineTts {
  readonly sampleRate: number;
  readonly numSpeakers: number;
  /** `onProgress` receives audio as it is generated; returning 0/false stops generation. */
  generateAsync(request: {
    text: string;
    sid: number;
    speed: number;
    onProgress?: (p: SherpaTtsProgress) => number | boolean | void;
  }): Promise<SherpaWaveform>;
}

export interface SherpaModule {
  readonly OnlineRecognizer: new (config: object) => SherpaOnlineRecognizer;
  readonly OfflineTts: { createAsync(config: object): Promise<SherpaOfflineTts> };
}

let cached: SherpaModule | undefined;

/** Load the native module once; a failure is a non-retryable ProviderError naming the cause. */
export function loadSherpaModule(provider: string): SherpaModule {
  if (cached !== undefined) return cached;
  try {
    cached = createRequire(import.meta.url)('sherpa-onnx-node') as SherpaModule;
    return cached;
  } catch (err) {
    throw new ProviderError(provider, 'CR_PROVIDER_UNAVAILABLE', `sherpa-onnx-node failed to load: ${errorMessage(err)}`, {
      retryable: false,
      cause: err,
    });
  }
}
