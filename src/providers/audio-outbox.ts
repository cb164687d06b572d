/**
 * Caller audio waiting for a writable socket. Bounded in bytes; when full the oldest audio goes
 * first (on a call the newest speech matters most, and memory must stay flat). Chunks are copied on
 * the way in because the media path reuses its buffers. Counters are cumulative for the session.
 */
export class AudioOutbox {
  readonly maxBytes: number;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;
  #droppedBytes = 0;

  constructor(maxBytes: number) {
    if (!(maxBytes > 0)) throw new RangeError('outbox maxBytes must be > 0');
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes discarded by the drop-oldest policy since the outbox was made. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Keep a copy of `chunk`; returns the bytes this push caused to be dropped. */
  push(chunk: Uint8Array): number {
    if (chunk.byteLength === 0) return 0;
    const before = this.#droppedBytes;
    let copy = chunk.slice();
    if (copy.byteLength > this.maxBytes) {
      // A single chunk larger than the whole budget keeps only its newest part.
      this.#droppedBytes += copy.byteLength - this.maxBytes;
      copy = copy.subarray(copy.byteLength - this.maxBytes);
    }
    this.#chunks.push(copy);
    this.#bytes += copy.byteLength;
    while (this.#bytes > this.maxBytes && this.#head < this.#chunks.length) {
      const old = this.#chunks[this.#head] as Uint8Array;
      this.#chunks[this.#head] = EMPTY;
      this.#head++;
      this.#bytes -= old.byteLength;
      this.#droppedBytes += old.byteLength;
    }
    this.#compact();
    return this.#droppedBytes - before;
  }

  /**
   * Take whole chunks from the head, joined, up to `maxBytes` (at least one chunk even if larger),
   * so a backlog goes out in a few large messages rather than many small ones. Undefined when empty.
   */
  take(maxBytes: number): Uint8Array | undefined {
    if (this.#head >= this.#chunks.length) return undefined;
    const first = this.#chunks[this.#head] as Uint8Array;
    let end = this.#head + 1;
    let total = first.byteLength;
    while (end < this.#chunks.length && total + (this.#chunks[end] as Uint8Array).byteLength <= maxBytes) {
      total += (this.#chunks[end] as Uint8Array).byteLength;
      end++;
    }
    let out: Uint8Array;
    if (end === this.#head + 1) {
      out = first;
    } else {
      out = new Uint8Array(total);
      let at = 0;
      for (let i = this.#head; i < end; i++) {
        const c = this.#chunks[i] as Uint8Array;
        out.set(c, at);
        at += c.byteLength;
      }
    }
    for (let i = this.#head; i < end; i++) this.#chunks[i] = EMPTY;
    this.#head = end;
    this.#bytes -= total;
    this.#compact();
    return out;
  }

  /** Forget what is held (the dropped counter stays). */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  #compact(): void {
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head > 64 && this.#head * 2 > this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
