/**
 * A model's text stream can be read only once, but a retry or a fallback provider needs the text
 * again from the start. This keeps what was read and lets each new reader replay it, then
 * continue with the live stream (readers share one underlying iterator, one at a time).
 */
export class ReplayableText {
  readonly #source: AsyncIterator<string>;
  readonly #seen: string[] = [];
  #done = false;

  constructor(source: AsyncIterable<string>) {
    this.#source = source[Symbol.asyncIterator]();
  }

  /** A fresh iterable: everything read so far, then the rest of the source. */
  reader(): AsyncIterable<string> {
    const seen = this.#seen;
    return {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: async (): Promise<IteratorResult<string>> => {
            if (i < seen.length) return { value: seen[i++] as string, done: false };
            if (this.#done) return { value: undefined, done: true };
            const r = await this.#source.next();
            if (r.done === true) {
              this.#done = true;
              return { value: undefined, done: true };
            }
            seen.push(r.value);
            i++;
            return { value: r.value, done: false };
          },
          // A reader that stops early must not end the source: the next attempt still needs it.
          return: async (): Promise<IteratorResult<string>> => ({ value: undefined, done: true }),
        };
      },
    };
  }

  /** End the source (the whole request is over). Not awaited: a read may still be pending on it. */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    void this.#source.return?.()?.catch(() => undefined);
  }
}
