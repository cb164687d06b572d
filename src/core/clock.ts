/**
 * Time source for everything that schedules: real in production, driven by hand in tests
 * (SIP transaction timers, RTP pacing, tool deadlines).
 */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export function systemClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let next = 1;
  return {
    now: () => performance.now(),
    setTimeout(fn, ms) {
      const id = next++;
      const t = setTimeout(() => {
        timers.delete(id);
        fn();
      }, ms);
      timers.set(id, t);
      return { id };
    },
    clearTimeout(handle) {
      const t = timers.get(handle.id);
      if (t !== undefined) {
        clearTimeout(t);
        timers.delete(handle.id);
      }
    },
  };
}

/** A clock that only moves when the test calls `advance`. Timers fire in due order. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { due: number; fn: () => void }>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { due: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let bestId = -1;
      let bestDue = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.due <= target && (t.due < bestDue || (t.due === bestDue && id < bestId))) {
          bestDue = t.due;
          bestId = id;
        }
      }
      if (bestId < 0) break;
      const timer = this.#timers.get(bestId);
      this.#timers.delete(bestId);
      this.#now = Math.max(this.#now, bestDue);
      timer?.fn();
    }
    this.#now = target;
  }
}
