/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/**
 * A typed set of listeners for one lifecycle event. A listener that throws is reported to
 * `onError` and does not stop the others (a handler bug must not break the SIP state machine).
 */
export class Listeners<T> {
  readonly #fns = new Set<(value: T) => void>();
  readonly #onError: (err: unknown) => void;
  /** The listeners as an array, rebuilt only when the set changes: `emit` runs per audio frame. */
  #snapshot: Array<(value: T) => void> | undefined;

  constructor(onError: (err: unknown) => void = () => undefined) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#fns.size;
  }

  add(fn: (value: T) => void): Unsubscribe {
    // A wrapper per registration, so the same function added twice is two subscriptions.
    const entry = (value: T): void => fn(value);
    this.#fns.add(entry);
    this.#snapshot = undefined;
    return () => {
      if (this.#fns.delete(entry)) this.#snapshot = undefined;
    };
  }

  /** Calls every listener registered when the emit began (one added or removed meanwhile counts from the next). */
  emit(value: T): void {
    const fns = (this.#snapshot ??= [...this.#fns]);
    for (const fn of fns) {
      try {
        fn(value);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  clear(): void {
    this.#fns.clear();
    this.#snapshot = undefined;
  }
}
