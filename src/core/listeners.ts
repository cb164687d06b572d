/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/**
 * A typed set of listeners for one lifecycle event. A listener that throws is reported to
 * `onError` and does not stop the others (a handler bug must not break the SIP state machine).
 */
export class Listeners<T> {
  readonly #fns = new Set<(value: T) => void>();
  readonly #onError: (err: unknown) => void;

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
    return () => {
      this.#fns.delete(entry);
    };
  }

  emit(value: T): void {
    for (const fn of [...this.#fns]) {
      try {
        fn(value);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  clear(): void {
    this.#fns.clear();
  }
}
