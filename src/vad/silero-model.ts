/**
 * The Silero VAD ONNX model on onnxruntime-node: one InferenceSession shared by every stream.
 *
 * I/O of the v5/v6 graphs: `input` float32 [batch, context + window], `state` float32 [2, batch, 128]
 * (the LSTM's h and c), `sr` int64 scalar -> `output` float32 [batch, 1] (speech probability) and
 * `stateN` [2, batch, 128]. The window is 512 samples with 64 samples of context at 16 kHz, 256 + 32
 * at 8 kHz; the context is the tail of the stream's previous window (as in Silero's own OnnxWrapper).
 *
 * The file comes from the installed `@ricky0123/vad-web` package (dist/silero_vad_v5.onnx and
 * silero_vad_v6.onnx); nothing is downloaded. v5 is the default, by measurement (bench/vad.bench.ts):
 * both cost the same per window (within noise, batched or not), both find every utterance of the
 * speech fixtures and stay below p = 0.05 on silence, white and pink noise, and are equally accurate
 * per window with pink noise at 5 dB SNR (0.968 v5, 0.971 v6). v5 reports the end of speech sooner
 * (52 ms after the real end on average, v6 90 ms), and that delay adds directly to turn-taking
 * latency. v6 stays selectable (`version: 'v6'`).
 */
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { CallroomError, errorMessage } from '../core/errors.ts';

export type SileroVersion = 'v5' | 'v6';

/** Version used when none is configured (see the module comment for why). */
export const DEFAULT_SILERO_VERSION: SileroVersion = 'v5';

/** Floats per stream in the LSTM state: 2 layers (h, c) x 128. */
export const SILERO_STATE_FLOATS = 2 * 128;

/** Samples per analysed window and of carried-over context, per supported rate. */
export interface SileroGeometry {
  readonly window: number;
  readonly context: number;
}

const GEOMETRY = new Map<number, SileroGeometry>([
  [16000, { window: 512, context: 64 }],
  [8000, { window: 256, context: 32 }],
]);

/** Window geometry for a sample rate, or undefined if the model does not take that rate. */
export function sileroGeometry(sampleRate: number): SileroGeometry | undefined {
  return GEOMETRY.get(sampleRate);
}

/** Absolute path of the packaged ONNX file for `version`. */
export function sileroModelPath(version: SileroVersion = DEFAULT_SILERO_VERSION): string {
  // vad-web has no "exports" map, so the data file resolves like any subpath of the package.
  const require = createRequire(import.meta.url);
  return require.resolve(`@ricky0123/vad-web/dist/silero_vad_${version}.onnx`);
}

export interface SileroModelOptions {
  readonly version?: SileroVersion;
  /** A different ONNX file with the same I/O (overrides `version`). */
  readonly modelPath?: string;
}

/** One shared ONNX session. Runs are serialised by the caller (the batcher). */
export class SileroModel {
  readonly version: SileroVersion;
  readonly path: string;
  readonly #session: ort.InferenceSession;
  readonly #sr = new Map<number, ort.Tensor>();
  #closed = false;

  /** Load the model file; throws CallroomError CR_VAD_MODEL naming the path when it cannot. */
  static async load(options: SileroModelOptions = {}): Promise<SileroModel> {
    const version = options.version ?? DEFAULT_SILERO_VERSION;
    let path: string;
    try {
      path = options.modelPath ?? sileroModelPath(version);
    } catch (err) {
      throw new CallroomError('CR_VAD_MODEL', `silero ${version} model not found in @ricky0123/vad-web: ${errorMessage(err)}`, { cause: err });
    }
    try {
      // One intra-op thread: many streams share the session and the batch dimension is the parallelism.
      const session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      return new SileroModel(session, version, path);
    } catch (err) {
      throw new CallroomError('CR_VAD_MODEL', `cannot load silero model ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  constructor(session: ort.InferenceSession, version: SileroVersion, path: string) {
    this.#session = session;
    this.version = version;
    this.path = path;
  }

  /**
   * Run `batch` windows at once. `input` holds batch rows of (context + window) floats in [-1, 1];
   * `state` holds [2, batch, 128] and is replaced by the new state; `probs[b]` gets row b's probability.
   */
  async run(sampleRate: number, batch: number, input: Float32Array, state: Float32Array, probs: Float32Array): Promise<void> {
    if (this.#closed) throw new CallroomError('CR_VAD_CLOSED', 'silero model is closed');
    const g = sileroGeometry(sampleRate);
    if (g === undefined) throw new CallroomError('CR_VAD_CONFIG', `silero: unsupported sample rate ${sampleRate}`);
    const row = g.window + g.context;
    let sr = this.#sr.get(sampleRate);
    if (sr === undefined) {
      sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
      this.#sr.set(sampleRate, sr);
    }
    const out = await this.#session.run({
      input: new ort.Tensor('float32', input.subarray(0, batch * row), [batch, row]),
      state: new ort.Tensor('float32', state.subarray(0, batch * SILERO_STATE_FLOATS), [2, batch, 128]),
      sr,
    });
    const p = out['output']?.data;
    const s = out['stateN']?.data;
    if (!(p instanceof Float32Array) || !(s instanceof Float32Array) || p.length < batch || s.length < batch * SILERO_STATE_FLOATS) {
      throw new CallroomError('CR_VAD_MODEL', 'silero: unexpected model outputs');
    }
    probs.set(p.subarray(0, batch));
    state.set(s.subarray(0, batch * SILERO_STATE_FLOATS));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#session.release();
  }
}
