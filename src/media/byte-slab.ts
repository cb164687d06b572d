/**
 * Copies of received payloads carved out of larger buffers (the octet twin of pcm-slab.ts): the native RTP path
 * reuses its receive area for the next batch, so a payload kept past the callback (in a jitter buffer, then handed
 * to `onEncoded` listeners) is copied here, one ArrayBuffer per chunk instead of one per packet. A copy is never
 * handed out twice, so a listener may keep it; a kept copy keeps its chunk (25 G.711 packets) alive.
 */
export class ByteSlab {
  readonly #chunkBytes: number;
  /** Allocated on first use: a call that never receives audio costs nothing here. */
  #chunk: Uint8Array | null = null;
  #used = 0;

  /** `chunkBytes`: octets per underlying buffer (default 4000: 25 G.711 packets of 20 ms). */
  constructor(chunkBytes = 4000) {
    if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError('chunkBytes must be a positive integer');
    this.#chunkBytes = chunkBytes;
  }

  /** A copy of `src` that nothing else uses (a buffer of its own when larger than a chunk). */
  copy(src: Uint8Array): Uint8Array {
    const n = src.length;
    if (n > this.#chunkBytes) return src.slice();
    let chunk = this.#chunk;
    if (chunk === null || this.#used + n > chunk.length) {
      chunk = new Uint8Array(this.#chunkBytes);
      this.#chunk = chunk;
      this.#used = 0;
    }
    const view = chunk.subarray(this.#used, this.#used + n);
    view.set(src);
    this.#used += n;
    return view;
  }
}
