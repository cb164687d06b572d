/**
 * Resampler engine on the Speex resampler in WebAssembly (see speex-wasm.ts for loading).
 *
 * Quality levels map to Speex qualities by measurement (bench/resample.bench.ts, 20 rate pairs):
 * q5 and below are down more than 0.5 dB at 0.45 x the lower rate (q4, the Speex default, 2.3 dB; q5 1.9 dB);
 * q6 is the cheapest that meets the spec (0.21 dB, 72 dB); q7 and q8 stay within 0.01 dB and reach the
 * 16-bit floor (~93 dB) above the lower Nyquist. q9/q10 move the cutoff closer to Nyquist and reject less
 * just above it (67/77 dB), so "high" stops at q8.
 */
import { CallroomError } from '../../core/errors.ts';
import type { ResamplerQuality } from './polyphase-table.ts';
import type { ResampleEngine } from './resample-engine.ts';
import type { SpeexWasm } from './speex-wasm.ts';

/** Speex quality (0..10) per level. */
export const SPEEX_QUALITY: Readonly<Record<ResamplerQuality, number>> = { fast: 6, standard: 7, high: 8 };

/** Input samples copied into WASM memory per call (20 ms at 48 kHz is 960). */
const IN_CAPACITY = 2048;

/** Frees the WASM side of an engine that was dropped without close() (a safety net, not the normal path). */
const leakGuard = new FinalizationRegistry<() => void>((free) => free());

/** One Speex resampler state plus its scratch buffers inside WASM memory. */
export class SpeexEngine implements ResampleEngine {
  readonly delay: number;
  readonly #wasm: SpeexWasm;
  readonly #outCapacity: number;
  #state: number;
  /** One allocation: [inLen u32][outLen u32][input i16 x IN_CAPACITY][output i16 x outCapacity]. */
  #block: number;
  readonly #free: () => void;

  /** `speexQuality` is Speex's 0..10 scale; {@link SPEEX_QUALITY} maps the resampler's levels onto it. */
  constructor(wasm: SpeexWasm, fromRate: number, toRate: number, speexQuality: number) {
    this.#wasm = wasm;
    this.#outCapacity = Math.ceil((IN_CAPACITY * toRate) / fromRate) + 16;
    const block = wasm._malloc(8 + 2 * IN_CAPACITY + 2 * this.#outCapacity);
    const state = wasm._speex_resampler_init(1, fromRate, toRate, speexQuality, block);
    const err = wasm.HEAPU32[block >> 2] ?? 0;
    if (state === 0 || err !== 0) {
      wasm._free(block);
      throw new CallroomError('CR_RESAMPLE_INIT', `speex resampler init failed for ${fromRate} -> ${toRate} Hz (error ${err})`);
    }
    this.#state = state;
    this.#block = block;
    // Speex reports latency in input samples; callers align in output samples.
    this.delay = (wasm._speex_resampler_get_input_latency(state) * toRate) / fromRate;
    this.#free = () => {
      wasm._speex_resampler_destroy(state);
      wasm._free(block);
    };
    leakGuard.register(this, this.#free, this);
  }

  process(input: Int16Array, out: Int16Array): number {
    if (this.#state === 0) return 0;
    const wasm = this.#wasm;
    const lens = this.#block >> 2;
    const inPtr = this.#block + 8;
    const outPtr = inPtr + 2 * IN_CAPACITY;
    let written = 0;
    let offset = 0;
    while (offset < input.length) {
      const n = Math.min(IN_CAPACITY, input.length - offset);
      // Read the heap views on every call: they are replaced whenever WASM memory grows.
      wasm.HEAP16.set(input.subarray(offset, offset + n), inPtr >> 1);
      const u32 = wasm.HEAPU32;
      u32[lens] = n;
      u32[lens + 1] = this.#outCapacity;
      wasm._speex_resampler_process_int(this.#state, 0, inPtr, this.#block, outPtr, this.#block + 4);
      const consumed = wasm.HEAPU32[lens] ?? 0;
      const produced = wasm.HEAPU32[lens + 1] ?? 0;
      out.set(wasm.HEAP16.subarray(outPtr >> 1, (outPtr >> 1) + produced), written);
      written += produced;
      if (consumed === 0 && produced === 0) break; // cannot happen with the capacities above; never spin
      offset += consumed;
    }
    return written;
  }

  reset(): void {
    if (this.#state !== 0) this.#wasm._speex_resampler_reset_mem(this.#state);
  }

  close(): void {
    if (this.#state === 0) return;
    leakGuard.unregister(this);
    this.#free();
    this.#state = 0;
    this.#block = 0;
  }
}
