import { AbortedError } from './errors.ts';

/** What a full channel does with a new item: audio drops the oldest, text makes the writer wait. */
export type OverflowPolicy = 'drop-oldest' | 'wait';

/**
 * The one push-side stream primitive: a bounded queue that is also an AsyncIterable.
 * `push` never blocks with 'drop-oldest' (media hot path); with 'wait' use `send`, which resolves when there is room.
 */
export class BoundedChannel<T> implements AsyncIterable<T> {
  readonly capacity: number;
  readonly policy: OverflowPolicy;
  #items: T[] = [];
  #head = 0;
  #closed = false;
  #error: unknown = undefined;
  #dropped = 0;
  #readers: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  #writers: Array<() => void> = [];

  constructor(capacity: number, policy: OverflowPolicy) {
    if (!(capacity >= 1)) throw new RangeError('channel capacity must be >= 1');
    this.capacity = capacity;
    this.policy = policy;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Items discarded by the drop-oldest policy so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Synchronous push. Returns false if the channel is closed, or full under the 'wait' policy.
   * Under 'drop-oldest' a full channel discards its oldest item.
   */
  push(item: T): boolean {
    if (this.#closed) return false;
    const reader = this.#readers.shift();
    if (reader !== undefined) {
      reader.resolve({ value: item, done: false });
      return true;
    }
    if (this.size >= this.capacity) {
      if (this.policy === 'wait') return false;
      this.#head++;
      this.#dropped++;
    }
    this.#items.push(item);
    this.#compact();
    return true;
  }

  /** Push, waiting for room under the 'wait' policy. Rejects if the channel closes or the signal aborts. */
  async send(item: T, signal?: AbortSignal): Promise<void> {
    // The signal is checked before every attempt: a writer woken by `clear()` (barge-in) whose signal aborted
    // meanwhile must not slip its stale item into the emptied channel.
    if (signal?.aborted === true) throw new AbortedError();
    while (!this.push(item)) {
      if (this.#closed) throw new AbortedError('channel closed');
      signal?.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.#writers = this.#writers.filter((w) => w !== wake);
          reject(new AbortedError());
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted === true) reject(new AbortedError());
          else resolve();
        };
        this.#writers.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
  }

  /** Take one item now, or undefined. */
  tryShift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#items[this.#head] as T;
    this.#head++;
    this.#compact();
    this.#writers.shift()?.();
    return item;
  }

  /** Wait for the next item; done when closed and drained. */
  async next(signal?: AbortSignal): Promise<IteratorResult<T>> {
    const item = this.tryShift();
    if (item !== undefined || this.size > 0) return { value: item as T, done: false };
    if (this.#closed) {
      if (this.#error !== undefined) throw this.#error;
      return { value: undefined, done: true };
    }
    signal?.throwIfAborted();
    return new Promise<IteratorResult<T>>((resolve, reject) => {
      const entry = {
        resolve: (r: IteratorResult<T>) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = (): void => {
        this.#readers = this.#readers.filter((r) => r !== entry);
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#readers.push(entry);
    });
  }

  /** End the stream. Readers drain what is queued, then finish (or throw `error` if given). */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    for (const r of this.#readers.splice(0)) {
      if (error !== undefined) r.reject(error);
      else r.resolve({ value: undefined, done: true });
    }
    for (const w of this.#writers.splice(0)) w();
  }

  /** Discard everything queued (barge-in flushes queued audio this way). */
  clear(): number {
    const n = this.size;
    this.#items = [];
    this.#head = 0;
    for (const w of this.#writers.splice(0)) w();
    return n;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  #compact(): void {
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}
