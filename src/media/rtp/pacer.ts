/**
 * One scheduler for every outbound media stream in the process. Each stream has an absolute schedule
 * (slot n is due at start + n * period, computed from the start every time, never by chaining timer delays),
 * and a single timer wakes for whatever is due next. A late wake-up sends every slot that fell due (up to
 * `maxBurst` per stream; a longer stall skips the oldest), so lateness never accumulates into drift.
 */

import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';

/** A stream driven by the pacer (an RTP session's sender). */
export interface PacerClient {
  /**
   * Slot `slot` is due. Called synchronously, in slot order, once per slot. `dueMs` is its scheduled time and
   * `nowMs` the pacer's clock when the wake-up began; `skipped` slots before this one were dropped because
   * the process stalled for longer than `maxBurst` periods (the client still advances its RTP clock for them).
   */
  onPace(slot: number, dueMs: number, nowMs: number, skipped: number): void;
}

/** A client's place in the schedule. */
export interface PacerRegistration {
  /** Clock time of slot 0 (since the last `setPeriod`). */
  readonly startMs: number;
  readonly periodMs: number;
  /** Scheduled time of the next slot. */
  readonly nextDueMs: number;
  /** Change the period from the next slot on (e.g. a new ptime); the schedule restarts at that slot's time. */
  setPeriod(periodMs: number): void;
  /** Stop pacing this client. Idempotent. */
  close(): void;
}

export interface PacerOptions {
  readonly clock?: Clock;
  /**
   * Streams start on a grid of this step and are spread across the phases of their period, so 1,000 streams
   * at 20 ms with a 5 ms grid wake the process four times per period for 250 streams each instead of once
   * for all of them. Default 5 ms.
   */
  readonly resolutionMs?: number;
  /** Most slots one stream sends in a single wake-up when catching up. Default 5. */
  readonly maxBurst?: number;
  /**
   * Slots due this close to now count as due. Default 1 ms: Node timers run off a millisecond-truncated loop
   * clock, so a timer often fires a fraction of a millisecond before its slot by `performance.now()`; with 0 that
   * wake-up finds nothing due and re-arms a sub-millisecond timer that Node raises to 1 ms, which nearly doubles
   * the wake-ups and makes the slot late. Sending up to 1 ms early is far inside any receiver's jitter buffer.
   */
  readonly earlyMs?: number;
  readonly logger?: Logger;
}

export interface PacerStats {
  readonly clients: number;
  readonly wakeups: number;
  /** Slots delivered to clients. */
  readonly slots: number;
  /** Slots skipped after stalls longer than `maxBurst` periods. */
  readonly skipped: number;
  /** Largest lateness of a wake-up behind the earliest slot it served, ms. */
  readonly maxLateMs: number;
}

class Entry implements PacerRegistration {
  readonly client: PacerClient;
  readonly #pacer: Pacer;
  startMs: number;
  periodMs: number;
  slot = 0;
  nextDueMs: number;
  index = -1;
  closed = false;

  constructor(pacer: Pacer, client: PacerClient, startMs: number, periodMs: number) {
    this.#pacer = pacer;
    this.client = client;
    this.startMs = startMs;
    this.periodMs = periodMs;
    this.nextDueMs = startMs;
  }

  /** Advance to the next slot; the due time is recomputed from the start, so float error cannot accumulate. */
  advance(n: number): void {
    this.slot += n;
    this.nextDueMs = this.startMs + this.slot * this.periodMs;
  }

  setPeriod(periodMs: number): void {
    if (!(periodMs > 0)) throw new RangeError('period must be > 0');
    if (this.closed || periodMs === this.periodMs) return;
    this.startMs = this.nextDueMs;
    this.periodMs = periodMs;
    this.slot = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#pacer.remove(this);
  }
}

export class Pacer {
  readonly clock: Clock;
  readonly #resolution: number;
  readonly #maxBurst: number;
  readonly #earlyMs: number;
  readonly #logger: Logger | undefined;
  #entries: Entry[] = [];
  #timer: TimerHandle | null = null;
  #timerDue = Infinity;
  #running = false;
  #removedWhileRunning = false;
  #closed = false;
  #wakeups = 0;
  #slots = 0;
  #skipped = 0;
  #maxLate = 0;

  constructor(opts: PacerOptions = {}) {
    this.clock = opts.clock ?? systemClock();
    this.#resolution = opts.resolutionMs ?? 5;
    this.#maxBurst = opts.maxBurst ?? 5;
    this.#earlyMs = opts.earlyMs ?? 1;
    this.#logger = opts.logger;
    if (!(this.#resolution > 0)) throw new RangeError('resolutionMs must be > 0');
    if (!(this.#earlyMs >= 0)) throw new RangeError('earlyMs must be >= 0');
    if (!(this.#maxBurst >= 1)) throw new RangeError('maxBurst must be >= 1');
  }

  /** Registered clients. */
  get size(): number {
    return this.#entries.length;
  }

  stats(): PacerStats {
    return {
      clients: this.#entries.length,
      wakeups: this.#wakeups,
      slots: this.#slots,
      skipped: this.#skipped,
      maxLateMs: this.#maxLate,
    };
  }

  /**
   * Start pacing `client` every `periodMs`. Slot 0 is due at the next grid point whose phase (mod the period)
   * has the fewest streams of that period.
   */
  register(client: PacerClient, periodMs: number): PacerRegistration {
    if (this.#closed) throw new Error('pacer closed');
    if (!(periodMs > 0)) throw new RangeError('period must be > 0');
    const res = this.#resolution;
    const grid = (Math.floor(this.clock.now() / res) + 1) * res;
    const phases = Math.max(1, Math.round(periodMs / res));
    let start = grid;
    if (phases > 1) {
      const load = new Uint32Array(phases);
      for (const e of this.#entries) {
        if (e.periodMs === periodMs) load[mod(Math.round(e.startMs / res), phases)]!++;
      }
      const base = Math.round(grid / res);
      let best = 0;
      for (let k = 1; k < phases; k++) {
        if (load[mod(base + k, phases)]! < load[mod(base + best, phases)]!) best = k;
      }
      start = grid + best * res;
    }
    const entry = new Entry(this, client, start, periodMs);
    entry.index = this.#entries.length;
    this.#entries.push(entry);
    this.#arm(start);
    return entry;
  }

  /** Stop the timer and drop every client. */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries) e.closed = true;
    this.#entries = [];
    this.#cancelTimer();
  }

  /** @internal Called by Entry.close(). */
  remove(entry: Entry): void {
    if (this.#running) {
      this.#removedWhileRunning = true; // compacted after the wake-up; indices stay valid meanwhile
      return;
    }
    const i = entry.index;
    if (i < 0 || this.#entries[i] !== entry) return;
    const last = this.#entries.pop() as Entry;
    if (last !== entry) {
      this.#entries[i] = last;
      last.index = i;
    }
    entry.index = -1;
    if (this.#entries.length === 0) this.#cancelTimer();
  }

  #wake = (): void => {
    this.#timer = null;
    this.#timerDue = Infinity;
    if (this.#closed) return;
    this.#wakeups++;
    const now = this.clock.now();
    const limit = now + this.#earlyMs;
    const maxBurst = this.#maxBurst;
    const entries = this.#entries;
    const n = entries.length;
    let earliest = Infinity;
    this.#running = true;
    try {
      for (let i = 0; i < n; i++) {
        const e = entries[i] as Entry;
        if (e.closed || e.nextDueMs > limit) continue;
        if (e.nextDueMs < earliest) earliest = e.nextDueMs;
        let skipped = 0;
        const due = Math.floor((limit - e.nextDueMs) / e.periodMs) + 1;
        if (due > maxBurst) {
          skipped = due - maxBurst;
          e.advance(skipped);
          this.#skipped += skipped;
        }
        for (let sent = 0; sent < maxBurst && !e.closed && e.nextDueMs <= limit; sent++) {
          const slot = e.slot;
          const dueMs = e.nextDueMs;
          e.advance(1);
          this.#slots++;
          try {
            e.client.onPace(slot, dueMs, now, skipped);
          } catch (err) {
            this.#logger?.warn({ err }, 'pacer client threw');
          }
          skipped = 0;
        }
      }
    } finally {
      this.#running = false;
    }
    if (earliest !== Infinity && now - earliest > this.#maxLate) this.#maxLate = now - earliest;
    if (this.#removedWhileRunning) {
      this.#removedWhileRunning = false;
      this.#entries = this.#entries.filter((e) => !e.closed);
      this.#entries.forEach((e, i) => {
        e.index = i;
      });
    }
    let next = Infinity;
    for (const e of this.#entries) if (e.nextDueMs < next) next = e.nextDueMs;
    if (next !== Infinity) this.#arm(next);
  };

  #arm(due: number): void {
    if (this.#running) return; // the wake-up re-arms for the earliest slot when it finishes
    if (this.#timer !== null && this.#timerDue <= due) return;
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timer = this.clock.setTimeout(this.#wake, Math.max(0, due - this.clock.now()));
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerDue = Infinity;
  }
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
