/**
 * Two mono tracks laid on one real-time axis, handed out as interleaved stereo in order. Audio is placed at
 * the moment it was heard (caller) or played (agent); silence fills whatever nobody placed. What has been
 * taken is final: audio placed before that point is cut to what is still open, and nothing is kept beyond
 * `maxAheadMs` past the last take, so memory stays bounded whatever a medium reports.
 */

export type Track = 0 | 1;

export class StereoTimeline {
  readonly sampleRate: number;
  /** Clock ms of sample 0. */
  readonly originMs: number;
  readonly #maxAhead: number;
  /** Open region: interleaved samples from `#taken` on. */
  #buf: Int16Array;
  /** Samples (per channel) already taken. */
  #taken = 0;
  /** Samples (per channel) placed so far beyond `#taken` (the open region's used length). */
  #filled = 0;

  constructor(sampleRate: number, originMs: number, maxAheadMs = 10_000) {
    this.sampleRate = sampleRate;
    this.originMs = originMs;
    this.#maxAhead = Math.ceil((maxAheadMs * sampleRate) / 1000);
    this.#buf = new Int16Array(2 * Math.ceil(sampleRate / 2));
  }

  /** Samples per channel taken so far (the file's length). */
  get taken(): number {
    return this.#taken;
  }

  /** Sample index of a clock time. */
  index(atMs: number): number {
    return Math.round(((atMs - this.originMs) * this.sampleRate) / 1000);
  }

  /** Clock time of a sample index. */
  timeOf(index: number): number {
    return this.originMs + (index * 1000) / this.sampleRate;
  }

  /** Put `samples` on `track` starting at clock time `atMs` (overwriting what was there). */
  place(track: Track, atMs: number, samples: Int16Array): void {
    this.placeAt(track, this.index(atMs), samples);
  }

  /** Put `samples` on `track` starting at sample `start`. */
  placeAt(track: Track, start: number, samples: Int16Array): void {
    let from = 0;
    if (start < this.#taken) {
      from = this.#taken - start;
      start = this.#taken;
    }
    const rel = start - this.#taken;
    const n = Math.min(samples.length - from, this.#maxAhead - rel);
    if (n <= 0) return;
    this.#ensure(rel + n);
    const buf = this.#buf;
    for (let i = 0; i < n; i++) buf[2 * (rel + i) + track] = samples[from + i] as number;
    if (rel + n > this.#filled) this.#filled = rel + n;
  }

  /**
   * Hand out the interleaved audio up to sample `end` (exclusive; silence where nothing was placed) and make it
   * final. Returns an empty array when `end` is not past what was taken.
   */
  takeUntil(end: number): Int16Array {
    // A long quiet stretch comes out in pieces of bounded size.
    const n = Math.min(end - this.#taken, this.#maxAhead * 4);
    if (n <= 0) return new Int16Array(0);
    this.#ensure(n);
    const out = this.#buf.slice(0, 2 * n);
    const keep = Math.max(0, this.#filled - n);
    // Move what lies beyond `end` to the front of the open region and clear the rest.
    this.#buf.copyWithin(0, 2 * n, 2 * (n + keep));
    this.#buf.fill(0, 2 * keep, 2 * Math.max(this.#filled, n));
    this.#filled = keep;
    this.#taken += n;
    return out;
  }

  /** Everything placed so far (up to the furthest sample of either track), or up to `end` when later. */
  takeAll(end = 0): Int16Array {
    return this.takeUntil(Math.max(end, this.#taken + this.#filled));
  }

  #ensure(samplesPerChannel: number): void {
    if (2 * samplesPerChannel <= this.#buf.length) return;
    let size = this.#buf.length;
    while (size < 2 * samplesPerChannel) size *= 2;
    const next = new Int16Array(size);
    next.set(this.#buf.subarray(0, 2 * this.#filled));
    this.#buf = next;
  }
}
