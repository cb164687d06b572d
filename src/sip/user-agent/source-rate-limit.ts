import type { Clock } from '../../core/clock.ts';

/** The `sip.rateLimit` settings as the user agent reads them. */
export interface SourceRateLimitConfig {
  readonly enabled: boolean;
  /** Sustained requests per second per source address. */
  readonly requestsPerSecond: number;
  /** Requests a source may send at once. */
  readonly burst: number;
  /** Sources tracked at most; the longest idle is forgotten first. */
  readonly maxSources: number;
  /** Trunk addresses are not limited. */
  readonly exemptTrunks: boolean;
  /** Over the limit: silence, or 503 (stateless). */
  readonly action: 'drop' | 'reject';
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per source address for requests outside any dialog, consulted by the user agent's admission
 * hook before the transaction layer keeps anything. The table is bounded: at `maxSources`, the entry used
 * longest ago goes (a Map keeps insertion order, and an entry is re-inserted on each use), so a flood from
 * many addresses costs a bounded amount of memory and, at worst, lets a forgotten source start from a full
 * bucket again.
 */
export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(config: Pick<SourceRateLimitConfig, 'requestsPerSecond' | 'burst' | 'maxSources'>, clock: Clock) {
    this.#rate = config.requestsPerSecond / 1000;
    this.#burst = Math.max(1, config.burst);
    this.#max = Math.max(1, config.maxSources);
    this.#clock = clock;
  }

  /** Sources in the table. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Take one token for `address`: false when it has none left (the request is over the limit). */
  allow(address: string): boolean {
    const now = this.#clock.now();
    let b = this.#buckets.get(address);
    if (b === undefined) {
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next();
        if (oldest.done !== true) this.#buckets.delete(oldest.value);
      }
      b = { tokens: this.#burst, at: now };
    } else {
      this.#buckets.delete(address);
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
      b.at = now;
    }
    this.#buckets.set(address, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
