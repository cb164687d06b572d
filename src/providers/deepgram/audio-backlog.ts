/**
 * Audio held while a live socket is being re-established. Bounded by bytes; when full the oldest
 * audio goes first, because on a call the newest speech matters most and memory must stay flat.
 */
export class AudioBacklog {
  readonly maxBytes: number;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #droppedBytes = 0;

  constructor(maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError('backlog maxBytes must be > 0');
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes discarded by the drop-oldest policy since the last `take`. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Keep a copy of `chunk` (callers reuse their buffers on the media path). */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    const copy = chunk.slice();
    this.#chunks.push(copy);
    this.#bytes += copy.byteLength;
    while (this.#bytes > this.maxBytes && this.#head < this.#chunks.length) {
      const old = this.#chunks[this.#head] as Uint8Array;
      this.#chunks[this.#head] = EMPTY;
      this.#head++;
      this.#bytes -= old.byteLength;
      this.#droppedBytes += old.byteLength;
    }
  }

  /** Everything held, oldest first, and the count of bytes dropped; empties the backlog. */
  take(): { chunks: Uint8Array[]; droppedBytes: number } {
    const chunks = this.#chunks.slice(this.#head);
    const droppedBytes = this.#droppedBytes;
    this.clear();
    return { chunks, droppedBytes };
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#droppedBytes = 0;
  }
}

const EMPTY = new Uint8Array(0);
