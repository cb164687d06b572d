/**
 * Streaming sample-rate converter for the media hot path (8, 16, 22.05, 24, 48 kHz, and other integer rates).
 *
 * Engine choice, by measurement (bench/resample.bench.ts drives both engines through this class; figures from
 * a shared 2-core machine): the Speex resampler compiled to WebAssembly (speex-engine.ts, Speex quality 7 by
 * default) rather than our own polyphase Kaiser FIR (polyphase-engine.ts, 'standard').
 * - Quality, all 20 pairs: both meet the spec. Speex q7: passband within 0.001 dB up to 0.45 x the lower
 *   rate, >= 93 dB rejection above the lower Nyquist (the 16-bit floor); polyphase: 0.001 dB, >= 81 dB.
 * - Speed, real-time channels per core in 20 ms frames: 8k->16k Speex ~3000 vs polyphase ~550;
 *   24k->8k Speex ~1800 vs polyphase ~410. On 22.05 kHz pairs, where Speex interpolates its filter table,
 *   both run ~420-440.
 * - Both are bit-exact under any chunking and emit exactly ceil(N * toRate / fromRate) samples after N
 *   input samples, so there is no drift and no click at frame boundaries.
 * The cost of Speex is an async WASM load, done once by a top-level await in speex-wasm.ts (import this
 * module and it is ready; `await initResampler()` is available for an explicit start-up step) and memory
 * outside the JS heap, which `close()` frees (a FinalizationRegistry frees it if a caller forgets).
 * If WebAssembly cannot be loaded, resamplers use the polyphase engine instead.
 */
import { CallroomError } from '../../core/errors.ts';
import { PolyphaseEngine } from './polyphase-engine.ts';
import type { ResamplerQuality } from './polyphase-table.ts';
import type { ResampleEngine, ResampleEngineName } from './resample-engine.ts';
import { SPEEX_QUALITY, SpeexEngine } from './speex-engine.ts';
import { speexWasm } from './speex-wasm.ts';

export type { ResamplerQuality } from './polyphase-table.ts';
export type { ResampleEngineName } from './resample-engine.ts';
export { initResampler } from './speex-wasm.ts';

/** Options for {@link Resampler}. */
export interface ResamplerOptions {
  /** Filter length trade-off; every level meets the gateway spec. Default 'standard'. */
  readonly quality?: ResamplerQuality;
  /** Force an engine (tests, bench). Default: 'speex-wasm' when WebAssembly loaded, else 'polyphase'. */
  readonly engine?: ResampleEngineName;
}

const MAX_RATE = 384_000;
const EMPTY = new Int16Array(0);

/** The engine new resamplers use by default in this process (for a start-up log line). */
export function defaultResampleEngine(): ResampleEngineName {
  return speexWasm() === undefined ? 'polyphase' : 'speex-wasm';
}

/**
 * Converts a mono signed 16-bit stream from `fromRate` to `toRate`, keeping filter state across calls so a
 * stream cut into 20 ms frames (or chunks of any size) gives exactly the same samples as the whole stream.
 *
 * Timing: output is delayed by {@link Resampler.delay} output samples (the filter's group delay), so output
 * sample `n` corresponds to input time `(n - delay) / toRate` s. After N input samples in total exactly
 * `ceil(N * toRate / fromRate)` samples have been returned; {@link Resampler.flush} returns the tail.
 *
 * Buffers: `process` and `flush` return a fresh `subarray` view of an internal growable buffer, valid
 * until the next call on this resampler (`process`, `flush`, `reset`, `close`); `slice()` it to keep it.
 * No allocation per call once the buffer has grown to the frame size. Synchronous.
 *
 * `fromRate === toRate` gives a pass-through (a copy) with `delay` 0.
 * The constructor throws CallroomError `CR_RESAMPLE_RATE` for rates that are not integers in 1..384000
 * (and, on the polyphase engine, ratios needing more than 1024 phases); `process` never throws.
 */
export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Group delay in output samples; fractional for some 22.05 kHz pairs with Speex (8k->22.05k: 176.4). */
  readonly delay: number;
  /** The engine in use, or undefined for a pass-through. */
  readonly engine: ResampleEngineName | undefined;

  #impl: ResampleEngine | undefined;
  #out: Int16Array;
  #totalIn = 0;
  #totalOut = 0;
  #closed = false;

  constructor(fromRate: number, toRate: number, options: ResamplerOptions = {}) {
    for (const rate of [fromRate, toRate]) {
      if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE) {
        throw new CallroomError('CR_RESAMPLE_RATE', `unsupported sample rate ${rate} (integer 1..${MAX_RATE} Hz)`);
      }
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    this.#impl = fromRate === toRate ? undefined : createEngine(fromRate, toRate, options);
    this.engine = this.#impl === undefined ? undefined : this.#impl instanceof SpeexEngine ? 'speex-wasm' : 'polyphase';
    this.delay = this.#impl?.delay ?? 0;
    this.#out = new Int16Array(Math.ceil((960 * toRate) / fromRate) + 2);
  }

  /**
   * Resamples the next chunk (any length, including 0 or 1 sample) and returns the output it completes.
   * The returned view is valid until the next call on this resampler. Returns an empty array after close().
   */
  process(input: Int16Array): Int16Array {
    const impl = this.#impl;
    if (this.#closed) return EMPTY;
    if (impl === undefined) {
      const out = this.#output(input.length);
      out.set(input);
      return out;
    }
    this.#totalIn += input.length;
    const out = this.#output(this.#expectedOut(this.#totalIn) - this.#totalOut + 2);
    const written = impl.process(input, out);
    this.#totalOut += written;
    return out.subarray(0, written);
  }

  /**
   * Ends the stream: returns the last ceil(delay) output samples still inside the filter (as if the input
   * were followed by silence), then resets so the next `process` starts a new stream. Empty if nothing was
   * processed since the last reset, for a pass-through, and after close().
   */
  flush(): Int16Array {
    const impl = this.#impl;
    if (this.#closed || impl === undefined || this.#totalIn === 0) {
      this.reset();
      return EMPTY;
    }
    const tail = Math.ceil(this.delay);
    // Enough zeros to complete `tail` more outputs under the ceil(N * to / from) law.
    const zeros = Math.max(0, Math.ceil(((this.#totalOut + tail) * this.fromRate) / this.toRate) - this.#totalIn);
    const out = this.#output(this.#expectedOut(this.#totalIn + zeros) - this.#totalOut + 2);
    const written = impl.process(new Int16Array(zeros), out);
    this.reset();
    return out.subarray(0, Math.min(tail, written));
  }

  /** Forgets the stream (history, phase, counters): the next `process` starts from silence. */
  reset(): void {
    if (this.#closed) return;
    this.#impl?.reset();
    this.#totalIn = 0;
    this.#totalOut = 0;
  }

  /** Frees the filter state (including WASM memory); afterwards `process`/`flush` return empty. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#impl?.close();
    this.#impl = undefined;
    this.#out = EMPTY;
  }

  #expectedOut(totalIn: number): number {
    return Math.ceil((totalIn * this.toRate) / this.fromRate);
  }

  /** A `count`-sample view of the output buffer, growing it (at least x2) when a larger chunk arrives. */
  #output(count: number): Int16Array {
    if (count > this.#out.length) this.#out = new Int16Array(Math.max(count, this.#out.length * 2));
    return this.#out.subarray(0, count);
  }
}

function createEngine(fromRate: number, toRate: number, options: ResamplerOptions): ResampleEngine {
  const quality = options.quality ?? 'standard';
  const engine = options.engine ?? defaultResampleEngine();
  if (engine === 'polyphase') return new PolyphaseEngine(fromRate, toRate, quality);
  const wasm = speexWasm();
  if (wasm === undefined) {
    throw new CallroomError('CR_RESAMPLE_ENGINE', 'speex-wasm resampler requested but WebAssembly could not be loaded');
  }
  return new SpeexEngine(wasm, fromRate, toRate, SPEEX_QUALITY[quality]);
}

/** A resampler from `fromRate` to `toRate` on the default engine (a pass-through when they are equal). */
export function createResampler(fromRate: number, toRate: number, options?: ResamplerOptions): Resampler {
  return new Resampler(fromRate, toRate, options);
}
