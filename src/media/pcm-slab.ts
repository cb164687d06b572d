/**
 * Int16Array views carved out of larger buffers, so the media path allocates one ArrayBuffer per chunk instead of
 * one per 20 ms frame: every off-heap ArrayBuffer costs a malloc, a free and young-generation bookkeeping in V8's
 * scavenger, which at hundreds of calls is where pauses came from. Like Node's Buffer pool, a view keeps its
 * whole chunk alive for as long as anyone holds it, so chunks are kept small: a consumer that keeps one frame
 * in 25 pays at most a chunk per kept frame. Views are never handed out twice, so a consumer may keep one.
 */
export class PcmSlab {
  readonly #chunkSamples: number;
  /** Allocated on first use: a call that never receives audio costs nothing here. */
  #chunk: Int16Array | null = null;
  #used = 0;

  /** `chunkSamples`: samples per underlying buffer (default 4096: 25 frames of 20 ms at 8 kHz). */
  constructor(chunkSamples = 4096) {
    if (!Number.isInteger(chunkSamples) || chunkSamples < 1) throw new RangeError('chunkSamples must be a positive integer');
    this.#chunkSamples = chunkSamples;
  }

  /** A zeroed view of `samples` samples that nothing else uses (a buffer of its own when larger than a chunk). */
  take(samples: number): Int16Array {
    if (samples > this.#chunkSamples) return new Int16Array(samples);
    let chunk = this.#chunk;
    if (chunk === null || this.#used + samples > chunk.length) {
      chunk = new Int16Array(this.#chunkSamples);
      this.#chunk = chunk;
      this.#used = 0;
    }
    const view = chunk.subarray(this.#used, this.#used + samples);
    this.#used += samples;
    return view;
  }
}
