/**
 * Pure-TypeScript polyphase FIR engine (windowed-sinc, Kaiser window, exact rational L/M stepping).
 *
 * Not the default: the bench (bench/resample.bench.ts) measured the Speex WASM engine 4-5x faster on the
 * integer-ratio pairs at equal quality. It stays as the fallback when WebAssembly cannot be loaded, and
 * as the reference the bench compares against.
 */
import type { ResampleEngine } from './resample-engine.ts';
import { polyphaseTable, type PolyphaseTable, type ResamplerQuality } from './polyphase-table.ts';

/** Input is consumed in blocks of at most this many samples so the history buffer stays small. */
const BLOCK = 4096;

/** Polyphase FIR resampler state for one stream. */
export class PolyphaseEngine implements ResampleEngine {
  readonly delay: number;
  readonly #table: PolyphaseTable;
  /** Input history: `taps - 1` samples of context followed by not yet consumed input. */
  #history: Float32Array;
  #filled: number;
  /** Start of the next output's input window within #history. */
  #start = 0;
  #phase = 0;
  #closed = false;

  constructor(fromRate: number, toRate: number, quality: ResamplerQuality) {
    this.#table = polyphaseTable(fromRate, toRate, quality);
    this.delay = this.#table.delay;
    this.#history = new Float32Array(this.#table.taps - 1 + BLOCK);
    this.#filled = this.#table.taps - 1;
  }

  process(input: Int16Array, out: Int16Array): number {
    if (this.#closed) return 0;
    let written = 0;
    for (let offset = 0; offset < input.length; offset += BLOCK) {
      written = this.#run(input.subarray(offset, Math.min(input.length, offset + BLOCK)), out, written);
    }
    return written;
  }

  reset(): void {
    if (this.#closed) return;
    this.#history.fill(0);
    this.#filled = this.#table.taps - 1;
    this.#start = 0;
    this.#phase = 0;
  }

  close(): void {
    this.#closed = true;
    this.#history = new Float32Array(0);
  }

  /** Appends one block (<= BLOCK samples) to the history and writes every output it completes. */
  #run(block: Int16Array, out: Int16Array, written: number): number {
    const history = this.#history;
    let filled = this.#filled;
    for (let i = 0; i < block.length; i++) history[filled++] = block[i]!;

    const { taps, coefs, nextPhase, advance } = this.#table;
    let start = this.#start;
    let phase = this.#phase;
    let o = written;
    while (start + taps <= filled) {
      const base = phase * taps;
      let acc0 = 0;
      let acc1 = 0;
      let j = 0;
      // Two accumulators break the add dependency chain; the order is fixed, so chunking stays bit-exact.
      for (; j + 1 < taps; j += 2) {
        acc0 += coefs[base + j]! * history[start + j]!;
        acc1 += coefs[base + j + 1]! * history[start + j + 1]!;
      }
      if (j < taps) acc0 += coefs[base + j]! * history[start + j]!;
      const v = Math.round(acc0 + acc1);
      out[o++] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      start += advance[phase]!;
      phase = nextPhase[phase]!;
    }
    // Keep what the next window still needs (at most taps - 1 samples) at the front.
    history.copyWithin(0, start, filled);
    this.#filled = filled - start;
    this.#start = 0;
    this.#phase = phase;
    return o;
  }
}
