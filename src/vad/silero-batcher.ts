/**
 * Schedules Silero inference for every stream of one `SileroVad` on the shared model session.
 *
 * Streams prepare windows synchronously on the media path and call `schedule`. A tick (setImmediate)
 * then runs, per sample rate, ONE batched inference over every stream that has a window waiting, the
 * oldest window of each (a stream's LSTM state makes its own windows sequential). Windows that arrive
 * while a run is in flight are picked up by the next run of the same tick loop, so under load batches
 * grow by themselves. 'unbatched' mode runs one inference per stream-window instead; it exists to
 * measure against (bench/vad.bench.ts) and as a fallback. Runs are never concurrent: the session has
 * one intra-op thread and the batch dimension is where the parallelism is.
 */
import { CallroomError, errorMessage } from '../core/errors.ts';
import { SILERO_STATE_FLOATS, sileroGeometry, type SileroModel } from './silero-model.ts';

export type SileroBatching = 'batched' | 'unbatched';

/** A stream as the batcher sees it. */
export interface SileroWork {
  readonly sampleRate: number;
  /** Prepared windows waiting for inference. */
  readonly pendingWindows: number;
  /** The stream's LSTM state, SILERO_STATE_FLOATS floats laid out [2][128]. */
  readonly state: Float32Array;
  /** Copy the oldest waiting window (context + window floats) into `dest` at `offset`. */
  copyOldestWindow(dest: Float32Array, offset: number): void;
  /** Result for the oldest waiting window, which is then consumed. */
  complete(probability: number): void;
  /** Inference failed; the stream stops. */
  fail(error: CallroomError): void;
}

export interface SileroBatcherOptions {
  readonly batching?: SileroBatching;
  /** Most streams in one run (default 512). */
  readonly maxBatch?: number;
}

/** Counters for benchmarks and metrics. */
export interface SileroBatcherStats {
  readonly runs: number;
  readonly windows: number;
}

const RATES = [16000, 8000] as const;

export class SileroBatcher {
  readonly batching: SileroBatching;
  readonly #model: SileroModel;
  readonly #maxBatch: number;
  readonly #ready = new Set<SileroWork>();
  readonly #batch: SileroWork[] = [];
  #input = new Float32Array(0);
  #state = new Float32Array(0);
  #probs = new Float32Array(0);
  #scheduled = false;
  #running = false;
  #runs = 0;
  #windows = 0;
  #idleWaiters: Array<() => void> = [];

  constructor(model: SileroModel, options: SileroBatcherOptions = {}) {
    this.#model = model;
    this.batching = options.batching ?? 'batched';
    this.#maxBatch = this.batching === 'unbatched' ? 1 : Math.max(1, options.maxBatch ?? 512);
  }

  get stats(): SileroBatcherStats {
    return { runs: this.#runs, windows: this.#windows };
  }

  /** `work` has at least one window waiting. Synchronous and cheap: called on the media path. */
  schedule(work: SileroWork): void {
    this.#ready.add(work);
    if (this.#scheduled || this.#running) return;
    this.#scheduled = true;
    setImmediate(() => void this.#tick());
  }

  /** Forget `work` (its stream closed); a run in flight still completes for it, harmlessly. */
  remove(work: SileroWork): void {
    this.#ready.delete(work);
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (!this.#scheduled && !this.#running && this.#ready.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #tick(): Promise<void> {
    this.#scheduled = false;
    this.#running = true;
    try {
      while (this.#ready.size > 0) {
        for (const rate of RATES) await this.#runRate(rate);
      }
    } finally {
      this.#running = false;
      for (const w of this.#idleWaiters.splice(0)) w();
    }
  }

  /** Run every ready stream at `rate` once (in batches of at most maxBatch). */
  async #runRate(rate: number): Promise<void> {
    const g = sileroGeometry(rate);
    if (g === undefined) return;
    const row = g.window + g.context;
    // Snapshot who is ready now; windows arriving during the await wait for the next pass.
    const candidates = this.#batch;
    candidates.length = 0;
    for (const w of this.#ready) if (w.sampleRate === rate) candidates.push(w);
    for (let start = 0; start < candidates.length; start += this.#maxBatch) {
      const n = Math.min(this.#maxBatch, candidates.length - start);
      this.#ensure(n, row);
      const input = this.#input;
      const state = this.#state;
      for (let b = 0; b < n; b++) {
        const w = candidates[start + b] as SileroWork;
        w.copyOldestWindow(input, b * row);
        // Gather [2][128] per stream into [2][batch][128].
        state.set(w.state.subarray(0, 128), b * 128);
        state.set(w.state.subarray(128, 256), (n + b) * 128);
      }
      const members = candidates.slice(start, start + n);
      try {
        await this.#model.run(rate, n, input, state, this.#probs);
      } catch (err) {
        const error = err instanceof CallroomError ? err : new CallroomError('CR_VAD_INFERENCE', `silero inference failed: ${errorMessage(err)}`, { cause: err });
        for (const w of members) {
          this.#ready.delete(w);
          w.fail(error);
        }
        continue;
      }
      this.#runs++;
      this.#windows += n;
      for (let b = 0; b < n; b++) {
        const w = members[b] as SileroWork;
        w.state.set(state.subarray(b * 128, b * 128 + 128), 0);
        w.state.set(state.subarray((n + b) * 128, (n + b) * 128 + 128), 128);
        w.complete(this.#probs[b] as number);
        if (w.pendingWindows === 0) this.#ready.delete(w);
      }
    }
  }

  #ensure(batch: number, row: number): void {
    if (this.#input.length < batch * row) this.#input = new Float32Array(batch * row);
    if (this.#state.length < batch * SILERO_STATE_FLOATS) this.#state = new Float32Array(batch * SILERO_STATE_FLOATS);
    if (this.#probs.length < batch) this.#probs = new Float32Array(batch);
  }
}
