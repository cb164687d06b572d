import type { AudioFrame } from '../core/audio-frame.ts';
import { CallroomError } from '../core/errors.ts';
import { SileroBatcher, type SileroBatching, type SileroBatcherStats, type SileroWork } from './silero-batcher.ts';
import { SILERO_STATE_FLOATS, SileroModel, sileroGeometry, type SileroModelOptions } from './silero-model.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';
import { resolveVadOptions, type Vad, type VadEvent, type VadOptions, type VadStream, type VadStreamOptions } from './vad.ts';
import { VadEventSink } from './vad-event-sink.ts';

export interface SileroVadOptions extends SileroModelOptions {
  /** 'batched' (default, measured faster) or one inference per stream-window. */
  readonly batching?: SileroBatching;
  readonly maxBatch?: number;
  /**
   * Windows a stream may queue while inference lags (default 64, about 2 s at 16 kHz). Beyond it the
   * oldest window is dropped: under overload detection degrades instead of memory growing.
   */
  readonly maxPendingWindows?: number;
  /** Segmenting defaults for streams (threshold, minSpeechMs, ...). */
  readonly defaults?: Partial<VadOptions>;
}

/**
 * Silero VAD at 8 and 16 kHz. All streams share one model session and one batching scheduler.
 * Create with `SileroVad.load(options)` (loads the model) or `new SileroVad(model, options)` to share
 * an already loaded model (then `close()` leaves the model open).
 */
export class SileroVad implements Vad {
  readonly name = 'silero';
  readonly model: SileroModel;
  readonly #batcher: SileroBatcher;
  readonly #options: SileroVadOptions;
  readonly #ownsModel: boolean;
  readonly #streams = new Set<SileroVadStream>();

  static async load(options: SileroVadOptions = {}): Promise<SileroVad> {
    const model = await SileroModel.load(options);
    return new SileroVad(model, options, true);
  }

  constructor(model: SileroModel, options: SileroVadOptions = {}, ownsModel = false) {
    this.model = model;
    this.#options = options;
    this.#ownsModel = ownsModel;
    this.#batcher = new SileroBatcher(model, {
      ...(options.batching !== undefined ? { batching: options.batching } : {}),
      ...(options.maxBatch !== undefined ? { maxBatch: options.maxBatch } : {}),
    });
  }

  get batching(): SileroBatching {
    return this.#batcher.batching;
  }

  /** Inference runs and windows so far (windows / runs is the mean batch size). */
  get stats(): SileroBatcherStats {
    return this.#batcher.stats;
  }

  supportsSampleRate(sampleRate: number): boolean {
    return sileroGeometry(sampleRate) !== undefined;
  }

  createStream(options: VadStreamOptions): VadStream {
    if (!this.supportsSampleRate(options.sampleRate)) {
      throw new CallroomError('CR_VAD_CONFIG', `silero VAD takes 8000 or 16000 Hz, not ${options.sampleRate} (resample first)`);
    }
    const stream = new SileroVadStream(options, this.#options, this.#batcher, (s) => this.#streams.delete(s));
    this.#streams.add(stream);
    return stream;
  }

  /** Resolves when no inference is queued or running (benchmarks, tests). */
  idle(): Promise<void> {
    return this.#batcher.idle();
  }

  async close(): Promise<void> {
    for (const s of [...this.#streams]) s.close();
    await this.#batcher.idle();
    if (this.#ownsModel) await this.model.close();
  }
}

/** Below this probability, out of speech, a window counts as quiet. */
const QUIET_PROBABILITY = 0.15;
/** Quiet after which the stream's LSTM state restarts from zeros. */
export const QUIET_RESET_MS = 1000;

/** A prepared window: context + window floats, and the media time of its first new sample. */
interface Slot {
  row: Float32Array;
  startMs: number;
}

class SileroVadStream implements VadStream, SileroWork {
  readonly sampleRate: number;
  readonly state = new Float32Array(SILERO_STATE_FLOATS);
  readonly #window: number;
  readonly #context: number;
  readonly #windowMs: number;
  readonly #maxPending: number;
  readonly #batcher: SileroBatcher;
  readonly #segmenter: SpeechSegmenter;
  readonly #sink: VadEventSink;
  readonly #onProbability: ((p: number, t: number) => void) | undefined;
  readonly #onClose: (s: SileroVadStream) => void;
  /** Window being filled: [context | window], as floats. */
  readonly #row: Float32Array;
  #fill = 0;
  /** Sample index (from stream start) of the window being filled, and the timing anchor. */
  #windowIndex = 0;
  #totalSamples = 0;
  #anchorMs = 0;
  #anchorIndex = 0;
  readonly #pending: Slot[] = [];
  readonly #free: Slot[] = [];
  #dropped = 0;
  /** Non-speech heard since the LSTM state last restarted, ms. */
  #quietMs = 0;
  #drainWaiters: Array<() => void> = [];
  #closed = false;

  constructor(options: VadStreamOptions, engine: SileroVadOptions, batcher: SileroBatcher, onClose: (s: SileroVadStream) => void) {
    const g = sileroGeometry(options.sampleRate) as { window: number; context: number };
    this.sampleRate = options.sampleRate;
    this.#window = g.window;
    this.#context = g.context;
    this.#windowMs = (g.window * 1000) / options.sampleRate;
    this.#maxPending = Math.max(1, engine.maxPendingWindows ?? 64);
    this.#batcher = batcher;
    this.#sink = new VadEventSink(options.onEvent);
    this.#segmenter = new SpeechSegmenter(resolveVadOptions(options, engine.defaults), (e) => this.#sink.emit(e));
    this.#onProbability = options.onProbability;
    this.#onClose = onClose;
    this.#row = new Float32Array(g.context + g.window);
  }

  get speaking(): boolean {
    return this.#segmenter.speaking;
  }

  get pendingWindows(): number {
    return this.#pending.length;
  }

  /** Windows discarded because inference fell behind. */
  get droppedWindows(): number {
    return this.#dropped;
  }

  push(frame: AudioFrame): boolean {
    if (this.#closed || frame.sampleRate !== this.sampleRate) return false;
    const samples = frame.samples;
    // Re-anchor media time on every frame so a gap in timestamps (lost packets) shifts later windows.
    this.#anchorMs = frame.timestamp;
    this.#anchorIndex = this.#totalSamples;
    const row = this.#row;
    const ctx = this.#context;
    let queued = false;
    for (let i = 0; i < samples.length; i++) {
      row[ctx + this.#fill] = (samples[i] as number) / 32768;
      this.#fill++;
      if (this.#fill === this.#window) {
        this.#enqueue(this.#anchorMs + ((this.#windowIndex - this.#anchorIndex) * 1000) / this.sampleRate);
        // The next window's context is this window's tail.
        row.copyWithin(0, this.#window, this.#window + ctx);
        this.#fill = 0;
        this.#windowIndex += this.#window;
        queued = true;
      }
    }
    this.#totalSamples += samples.length;
    if (queued) this.#batcher.schedule(this);
    return true;
  }

  #enqueue(startMs: number): void {
    if (this.#pending.length >= this.#maxPending) {
      const old = this.#pending.shift() as Slot;
      this.#free.push(old);
      this.#dropped++;
    }
    const slot = this.#free.pop() ?? { row: new Float32Array(this.#row.length), startMs: 0 };
    slot.row.set(this.#row);
    slot.startMs = startMs;
    this.#pending.push(slot);
  }

  copyOldestWindow(dest: Float32Array, offset: number): void {
    const slot = this.#pending[0];
    if (slot !== undefined) dest.set(slot.row, offset);
    else dest.fill(0, offset, offset + this.#row.length);
  }

  complete(probability: number): void {
    const slot = this.#pending.shift();
    if (slot === undefined || this.#closed) return;
    this.#free.push(slot);
    // Long non-speech drifts the LSTM state (15 s of line silence made the same words reach 0.5 only after
    // ~200 ms instead of one window): like Silero's own reset_states between utterances, the state restarts
    // after each QUIET_RESET_MS of non-speech, which is where a fresh stream stands.
    if (probability < QUIET_PROBABILITY && !this.#segmenter.speaking) {
      this.#quietMs += this.#windowMs;
      if (this.#quietMs >= QUIET_RESET_MS) {
        this.state.fill(0);
        this.#quietMs = 0;
      }
    } else this.#quietMs = 0;
    this.#onProbability?.(probability, slot.startMs);
    this.#segmenter.update(probability, slot.startMs, this.#windowMs);
    if (this.#pending.length === 0) for (const w of this.#drainWaiters.splice(0)) w();
  }

  fail(error: CallroomError): void {
    if (this.#closed) return;
    this.#sink.emit({ type: 'error', error });
    this.close();
  }

  events(): AsyncIterable<VadEvent> {
    return this.#sink.events();
  }

  drained(): Promise<void> {
    if (this.#closed || this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  async end(): Promise<void> {
    await this.drained();
    if (this.#closed) return;
    this.#segmenter.finish();
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.length = 0;
    this.#batcher.remove(this);
    this.#sink.close();
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#onClose(this);
  }
}
