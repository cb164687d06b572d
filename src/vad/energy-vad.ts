import type { AudioFrame } from '../core/audio-frame.ts';
import { CallroomError } from '../core/errors.ts';
import { SpeechSegmenter } from './speech-segmenter.ts';
import { resolveVadOptions, type Vad, type VadEvent, type VadOptions, type VadStream, type VadStreamOptions } from './vad.ts';
import { VadEventSink } from './vad-event-sink.ts';

/** Tuning of the energy detector's level-to-probability mapping. */
export interface EnergyVadOptions {
  /** Segmenting defaults for streams (threshold, minSpeechMs, ...). */
  readonly defaults?: Partial<VadOptions>;
  /** Below this level (dBFS) a frame is never speech (default -50). */
  readonly absoluteFloorDb?: number;
  /** Level above the noise floor where probability starts rising from 0 (default 6 dB). */
  readonly marginDb?: number;
  /** Width of the ramp from probability 0 to 1 (default 12 dB: with the default margin, p = 0.5 at 12 dB over the floor). */
  readonly rampDb?: number;
}

/** Per-frame time constant for the noise floor rising (about 8 s at 50 frames/s); it falls at once. */
const FLOOR_RISE = 0.0025;

/**
 * Fallback VAD without a model: frame level (RMS, dBFS) against an adaptive noise floor, mapped to a
 * pseudo-probability and segmented with the same rules as Silero. Works at any sample rate, fully
 * synchronous (events are emitted from inside `push`). It cannot tell speech from other loud sounds;
 * steady noise is learned as floor within seconds.
 */
export class EnergyVad implements Vad {
  readonly name = 'energy';
  readonly #options: EnergyVadOptions;
  readonly #streams = new Set<EnergyVadStream>();

  constructor(options: EnergyVadOptions = {}) {
    this.#options = options;
  }

  supportsSampleRate(sampleRate: number): boolean {
    return Number.isInteger(sampleRate) && sampleRate >= 4000 && sampleRate <= 192000;
  }

  createStream(options: VadStreamOptions): VadStream {
    if (!this.supportsSampleRate(options.sampleRate)) {
      throw new CallroomError('CR_VAD_CONFIG', `energy VAD: unsupported sample rate ${options.sampleRate}`);
    }
    const stream = new EnergyVadStream(options, this.#options, (s) => this.#streams.delete(s));
    this.#streams.add(stream);
    return stream;
  }

  async close(): Promise<void> {
    for (const s of [...this.#streams]) s.close();
  }
}

class EnergyVadStream implements VadStream {
  readonly sampleRate: number;
  readonly #segmenter: SpeechSegmenter;
  readonly #sink: VadEventSink;
  readonly #onProbability: ((p: number, t: number) => void) | undefined;
  readonly #onClose: (s: EnergyVadStream) => void;
  readonly #absFloor: number;
  readonly #margin: number;
  readonly #ramp: number;
  #floorDb: number | undefined;
  #closed = false;

  constructor(options: VadStreamOptions, engine: EnergyVadOptions, onClose: (s: EnergyVadStream) => void) {
    this.sampleRate = options.sampleRate;
    this.#sink = new VadEventSink(options.onEvent);
    this.#segmenter = new SpeechSegmenter(resolveVadOptions(options, engine.defaults), (e: VadEvent) => this.#sink.emit(e));
    this.#onProbability = options.onProbability;
    this.#onClose = onClose;
    this.#absFloor = engine.absoluteFloorDb ?? -50;
    this.#margin = engine.marginDb ?? 6;
    this.#ramp = engine.rampDb ?? 12;
  }

  get speaking(): boolean {
    return this.#segmenter.speaking;
  }

  push(frame: AudioFrame): boolean {
    if (this.#closed || frame.sampleRate !== this.sampleRate || frame.samples.length === 0) return false;
    const s = frame.samples;
    let sum = 0;
    for (let i = 0; i < s.length; i++) {
      const v = s[i] as number;
      sum += v * v;
    }
    const rms = Math.sqrt(sum / s.length) / 32768;
    const db = 20 * Math.log10(Math.max(rms, 1e-7));
    // Floor tracks the quietest recent level: falls immediately, rises slowly, so speech barely lifts it.
    // It is never taken below absoluteFloor - margin, so near-digital silence does not make hiss "speech".
    if (this.#floorDb === undefined || db < this.#floorDb) this.#floorDb = db;
    else this.#floorDb += (db - this.#floorDb) * FLOOR_RISE;
    const above = db - Math.max(this.#floorDb, this.#absFloor - this.#margin);
    const p = db < this.#absFloor ? 0 : Math.min(1, Math.max(0, (above - this.#margin) / this.#ramp));
    this.#onProbability?.(p, frame.timestamp);
    this.#segmenter.update(p, frame.timestamp, (s.length * 1000) / this.sampleRate);
    return true;
  }

  events(): AsyncIterable<VadEvent> {
    return this.#sink.events();
  }

  async drained(): Promise<void> {}

  async end(): Promise<void> {
    if (this.#closed) return;
    this.#segmenter.finish();
    this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink.close();
    this.#onClose(this);
  }
}
