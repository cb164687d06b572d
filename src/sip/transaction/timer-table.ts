import type { Clock, TimerHandle } from '../../core/clock.ts';

/**
 * The named timers of one transaction. A state machine declares which timers live in each state
 * and calls `keepOnly` on every transition, so no timer outlives the state it belongs to
 * (house style, after kirm/sip.js); `clearAll` on termination.
 */
export class TimerTable<Name extends string> {
  readonly #clock: Clock;
  readonly #handles = new Map<Name, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)starts `name` to fire once after `ms`. */
  start(name: Name, ms: number, fire: () => void): void {
    this.stop(name);
    const handle = this.#clock.setTimeout(() => {
      if (this.#handles.get(name) !== handle) return;
      this.#handles.delete(name);
      fire();
    }, ms);
    this.#handles.set(name, handle);
  }

  stop(name: Name): void {
    const h = this.#handles.get(name);
    if (h === undefined) return;
    this.#clock.clearTimeout(h);
    this.#handles.delete(name);
  }

  isRunning(name: Name): boolean {
    return this.#handles.has(name);
  }

  /** Clears every timer not named in `live` (the timers of the state being entered). */
  keepOnly(live: readonly Name[]): void {
    for (const name of [...this.#handles.keys()]) if (!live.includes(name)) this.stop(name);
  }

  clearAll(): void {
    for (const name of [...this.#handles.keys()]) this.stop(name);
  }

  /** Number of running timers (tests check that termination leaves none). */
  get size(): number {
    return this.#handles.size;
  }
}
