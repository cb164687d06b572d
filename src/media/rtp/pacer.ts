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
  /**
   * A wake-up this late behind its earliest slot (a stall) is put off once behind pending I/O before it catches
   * up, so the audio that arrived during the stall is played, not concealed. Default 20 ms (Infinity: never).
   */
  readonly deferAfterMs?: number;
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
  /**
   * Wake-ups by lateness behind the earliest slot they served: `counts[i]` is the number at most `bucketsMs[i]`
   * late (and more than the bucket before), the last count those later than every bucket. A histogram to
   * export as is: no allocation per wake-up.
   */
  readonly lateness: { readonly bucketsMs: readonly number[]; readonly counts: readonly number[]; readonly sumMs: number };
}

/** Upper bounds of the lateness histogram, ms. */
export const LATENESS_BUCKETS_MS: readonly number[] = Object.freeze([0.5, 1, 2, 5, 10, 20, 50, 100]);

class Entry implements PacerRegistration {
  readonly client: PacerClient;
  readonly #pacer: Pacer;
  startMs: number;
  periodMs: number;
  slot = 0;
  nextDueMs: number;
  lane: Lane | null = null;
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
    this.#pacer.relane(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#pacer.remove(this);
  }
}

/**
 * The streams of one period whose slots fall on the same phase of it: their slots are all due at the same
 * moments, so a wake-up serves whole lanes and never looks at a stream that is not due.
 */
class Lane {
  readonly key: string;
  readonly periodMs: number;
  readonly entries: Entry[] = [];
  /** Earliest next slot among the entries (Infinity when empty). */
  nextDueMs = Infinity;
  /** An entry closed while the lane was being served: compacted after the wake-up. */
  dirty = false;

  constructor(key: string, periodMs: number) {
    this.key = key;
    this.periodMs = periodMs;
  }
}

export class Pacer {
  readonly clock: Clock;
  readonly #resolution: number;
  readonly #maxBurst: number;
  readonly #earlyMs: number;
  readonly #logger: Logger | undefined;
  readonly #lanes = new Map<string, Lane>();
  #size = 0;
  #timer: TimerHandle | null = null;
  #timerDue = Infinity;
  #running = false;
  /** This wake-up was put off once behind pending I/O (see #wake). */
  #deferred = false;
  readonly #deferAfterMs: number;
  #closed = false;
  #wakeups = 0;
  #slots = 0;
  #skipped = 0;
  #maxLate = 0;
  readonly #lateness = new Float64Array(LATENESS_BUCKETS_MS.length + 1);
  #latenessSum = 0;

  constructor(opts: PacerOptions = {}) {
    this.clock = opts.clock ?? systemClock();
    this.#resolution = opts.resolutionMs ?? 5;
    this.#maxBurst = opts.maxBurst ?? 5;
    this.#earlyMs = opts.earlyMs ?? 1;
    this.#deferAfterMs = opts.deferAfterMs ?? 20;
    this.#logger = opts.logger;
    if (!(this.#resolution > 0)) throw new RangeError('resolutionMs must be > 0');
    if (!(this.#earlyMs >= 0)) throw new RangeError('earlyMs must be >= 0');
    if (!(this.#maxBurst >= 1)) throw new RangeError('maxBurst must be >= 1');
    if (!(this.#deferAfterMs >= 0)) throw new RangeError('deferAfterMs must be >= 0');
  }

  /** Registered clients. */
  get size(): number {
    return this.#size;
  }

  stats(): PacerStats {
    return {
      clients: this.#size,
      wakeups: this.#wakeups,
      slots: this.#slots,
      skipped: this.#skipped,
      maxLateMs: this.#maxLate,
      lateness: { bucketsMs: LATENESS_BUCKETS_MS, counts: Array.from(this.#lateness), sumMs: this.#latenessSum },
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
      let best = 0;
      let bestLoad = Infinity;
      for (let k = 0; k < phases; k++) {
        const load = this.#lanes.get(laneKey(periodMs, grid + k * res))?.entries.length ?? 0;
        if (load < bestLoad) {
          best = k;
          bestLoad = load;
        }
      }
      start = grid + best * res;
    }
    const entry = new Entry(this, client, start, periodMs);
    this.#size++;
    this.#join(entry);
    this.#arm(start);
    return entry;
  }

  /** Stop the timer and drop every client. */
  close(): void {
    this.#closed = true;
    for (const lane of this.#lanes.values()) for (const e of lane.entries) e.closed = true;
    this.#lanes.clear();
    this.#size = 0;
    this.#cancelTimer();
  }

  /** @internal Called by Entry.close(). */
  remove(entry: Entry): void {
    const lane = entry.lane;
    if (lane === null) return;
    this.#size--;
    if (this.#running) {
      lane.dirty = true; // compacted after the wake-up; indices stay valid meanwhile
      return;
    }
    this.#leave(entry);
    if (this.#size === 0) this.#cancelTimer();
  }

  /** @internal Called by Entry.setPeriod(): the entry's slots now fall on another lane. */
  relane(entry: Entry): void {
    const lane = entry.lane;
    if (lane === null) return;
    if (this.#running) {
      // Leaving its lane now would shift the indices being iterated: leave a closed stand-in there instead.
      const stub = new Entry(this, entry.client, entry.startMs, lane.periodMs);
      stub.closed = true;
      stub.lane = lane;
      stub.index = entry.index;
      lane.entries[entry.index] = stub;
      lane.dirty = true;
    } else {
      this.#leave(entry);
    }
    this.#join(entry);
    this.#arm(entry.nextDueMs);
  }

  #join(entry: Entry): void {
    const key = laneKey(entry.periodMs, entry.startMs);
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key, entry.periodMs);
      this.#lanes.set(key, lane);
    }
    entry.lane = lane;
    entry.index = lane.entries.length;
    lane.entries.push(entry);
    if (entry.nextDueMs < lane.nextDueMs) lane.nextDueMs = entry.nextDueMs;
  }

  #leave(entry: Entry): void {
    const lane = entry.lane;
    if (lane === null) return;
    const i = entry.index;
    if (lane.entries[i] === entry) {
      const last = lane.entries.pop() as Entry;
      if (last !== entry) {
        lane.entries[i] = last;
        last.index = i;
      }
    }
    entry.lane = null;
    entry.index = -1;
    if (lane.entries.length === 0) this.#lanes.delete(lane.key);
  }

  #wake = (): void => {
    this.#timer = null;
    this.#timerDue = Infinity;
    if (this.#closed) return;
    const now = this.clock.now();
    if (!this.#deferred && now - this.#earliestDue() > this.#deferAfterMs) {
      // Woken a whole slot late: the process stalled, and what arrived meanwhile is still in the sockets (the
      // timers run before I/O in an event loop turn). Let it in first, so the slots caught up now play the audio
      // that was waiting instead of concealing it and leaving it to arrive late.
      this.#deferred = true;
      this.#timerDue = now + 1;
      this.#timer = this.clock.setTimeout(this.#wake, 1); // the next turn of the event loop, after its I/O
      return;
    }
    this.#deferred = false;
    this.#wakeups++;
    const limit = now + this.#earlyMs;
    const maxBurst = this.#maxBurst;
    let earliest = Infinity;
    this.#running = true;
    try {
      for (const lane of this.#lanes.values()) {
        if (lane.nextDueMs > limit) continue;
        if (lane.nextDueMs < earliest) earliest = lane.nextDueMs;
        const entries = lane.entries;
        const n = entries.length;
        let next = Infinity;
        for (let i = 0; i < n; i++) {
          const e = entries[i] as Entry;
          if (!e.closed && e.nextDueMs <= limit) this.#serve(e, limit, now, maxBurst);
          if (!e.closed && e.nextDueMs < next) next = e.nextDueMs;
        }
        lane.nextDueMs = next;
      }
    } finally {
      this.#running = false;
    }
    if (earliest !== Infinity) this.#recordLateness(now - earliest);
    let next = Infinity;
    for (const lane of this.#lanes.values()) {
      if (lane.dirty) this.#compact(lane);
      if (lane.nextDueMs < next) next = lane.nextDueMs;
    }
    if (next !== Infinity) this.#arm(next);
  };

  /** Every slot of `e` that fell due (up to `maxBurst`; a longer stall skips the oldest). */
  #serve(e: Entry, limit: number, now: number, maxBurst: number): void {
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

  #earliestDue(): number {
    let e = Infinity;
    for (const lane of this.#lanes.values()) if (lane.nextDueMs < e) e = lane.nextDueMs;
    return e;
  }

  #compact(lane: Lane): void {
    lane.dirty = false;
    const kept = lane.entries.filter((e) => !e.closed && e.lane === lane);
    lane.entries.length = 0;
    let next = Infinity;
    for (const e of kept) {
      e.index = lane.entries.length;
      lane.entries.push(e);
      if (e.nextDueMs < next) next = e.nextDueMs;
    }
    lane.nextDueMs = next;
    if (kept.length === 0) this.#lanes.delete(lane.key);
  }

  #recordLateness(lateMs: number): void {
    if (lateMs > this.#maxLate) this.#maxLate = lateMs;
    this.#latenessSum += lateMs;
    let b = 0;
    while (b < LATENESS_BUCKETS_MS.length && lateMs > (LATENESS_BUCKETS_MS[b] as number)) b++;
    this.#lateness[b] = (this.#lateness[b] as number) + 1;
  }

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

/** Streams of one period whose slots are due at the same moments share a lane. */
function laneKey(periodMs: number, startMs: number): string {
  return `${periodMs}/${Math.round(mod(startMs, periodMs) * 1000)}`;
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
