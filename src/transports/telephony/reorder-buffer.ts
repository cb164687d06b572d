/**
 * Puts media frames back in order by the platform's frame counter (Telnyx does not guarantee order):
 * a frame ahead of the next expected one is held until the gap fills, or until `depth` frames are held
 * (then the missing ones count as lost and delivery goes on from the oldest held); a frame older than
 * the next expected one is dropped as late. Synchronous.
 */
export class ReorderBuffer {
  readonly #deliver: (payload: Buffer) => void;
  readonly #depth: number;
  readonly #held = new Map<number, Buffer>();
  #next: number | undefined;
  #reordered = 0;
  #late = 0;
  #lost = 0;
  #duplicates = 0;

  /**
   * `first`: the counter's first value (Telnyx counts chunks from 1), so frames swapped at the very start
   * are ordered too; a stream that starts higher costs `depth` frames of delay once.
   */
  constructor(deliver: (payload: Buffer) => void, depth = 3, first = 1) {
    this.#deliver = deliver;
    this.#depth = depth;
    this.#next = first;
  }

  push(seq: number, payload: Buffer): void {
    if (!Number.isSafeInteger(seq)) {
      this.#deliver(payload);
      return;
    }
    if (this.#next === undefined) this.#next = seq;
    if (seq < this.#next) {
      this.#late++;
      return;
    }
    if (seq !== this.#next) {
      if (this.#held.has(seq)) {
        this.#duplicates++;
        return;
      }
      this.#held.set(seq, payload);
      this.#reordered++;
      if (this.#held.size > this.#depth) this.#skipGap();
      return;
    }
    this.#deliver(payload);
    this.#next = seq + 1;
    this.#drain();
  }

  /** Deliver everything held, in order (the stream ended). */
  flush(): void {
    while (this.#held.size > 0) this.#skipGap();
  }

  stats(): Record<string, number> {
    return { reorderedFrames: this.#reordered, lateFrames: this.#late, lostFrames: this.#lost, duplicateFrames: this.#duplicates };
  }

  #drain(): void {
    for (;;) {
      const next = this.#next as number;
      const p = this.#held.get(next);
      if (p === undefined) return;
      this.#held.delete(next);
      this.#deliver(p);
      this.#next = next + 1;
    }
  }

  /** Give up on the missing frame(s) before the oldest held one. */
  #skipGap(): void {
    let oldest = Infinity;
    for (const k of this.#held.keys()) if (k < oldest) oldest = k;
    this.#lost += oldest - (this.#next as number);
    this.#next = oldest;
    this.#drain();
  }
}
