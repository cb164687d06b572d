/**
 * A token bucket for one client's messages: `perSecond` tokens a second, a burst of one second's worth.
 * Synchronous and allocation-free (it runs for every audio frame).
 */
export class MessageRate {
  readonly #perSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;
  #dropped = 0;

  constructor(perSecond: number, now: () => number) {
    if (!(perSecond > 0)) throw new RangeError('perSecond must be > 0');
    this.#perSecond = perSecond;
    this.#now = now;
    this.#tokens = perSecond;
    this.#at = now();
  }

  /** Messages refused so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Take one token: true when the message may be handled, false when it must be dropped. */
  take(): boolean {
    const now = this.#now();
    const elapsed = now - this.#at;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#perSecond, this.#tokens + (elapsed * this.#perSecond) / 1000);
      this.#at = now;
    }
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#dropped++;
    return false;
  }
}
