import { dialogKey, type DialogId } from './dialog-id.ts';

/**
 * Live dialogs by id, with a hard cap (config `sip.limits.maxDialogs`) so that no peer can make the
 * table grow without bound. Holds whatever the user agent keeps per dialog (its call).
 */
export class DialogTable<T> {
  readonly #max: number;
  readonly #entries = new Map<string, T>();

  constructor(maxDialogs: number) {
    this.#max = maxDialogs;
  }

  get size(): number {
    return this.#entries.size;
  }

  get capacity(): number {
    return this.#max;
  }

  /** Whether one more dialog fits. */
  get full(): boolean {
    return this.#entries.size >= this.#max;
  }

  get(id: DialogId): T | undefined {
    return this.#entries.get(dialogKey(id));
  }

  /** Adds a dialog; false (nothing added) when the table is full or the id is taken by another value. */
  add(id: DialogId, value: T): boolean {
    const key = dialogKey(id);
    const existing = this.#entries.get(key);
    if (existing !== undefined) return existing === value;
    if (this.#entries.size >= this.#max) return false;
    this.#entries.set(key, value);
    return true;
  }

  /** Removes a dialog (only when it still maps to `value`, if given). */
  delete(id: DialogId, value?: T): boolean {
    const key = dialogKey(id);
    if (value !== undefined && this.#entries.get(key) !== value) return false;
    return this.#entries.delete(key);
  }

  values(): IterableIterator<T> {
    return this.#entries.values();
  }
}
