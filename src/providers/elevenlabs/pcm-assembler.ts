/**
 * Turns a byte stream of little-endian 16-bit PCM into whole samples. Network chunks do not
 * respect sample boundaries: an odd byte at the end of one chunk is carried into the next.
 */
export class PcmAssembler {
  #carry = -1;

  /** Samples completed by `bytes` (a fresh array each call, owned by the caller); empty if none. */
  push(bytes: Uint8Array): Int16Array {
    const carried = this.#carry >= 0 ? 1 : 0;
    const total = bytes.byteLength + carried;
    const n = total >> 1;
    const out = new Int16Array(n);
    if (n > 0) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let i = 0;
      let o = 0;
      if (carried === 1) {
        out[o++] = ((view.getUint8(0) << 8) | this.#carry) << 16 >> 16;
        i = 1;
      }
      for (; o < n; o++, i += 2) out[o] = view.getInt16(i, true);
      this.#carry = i < bytes.byteLength ? (view.getUint8(i) as number) : -1;
    } else if (bytes.byteLength === 1) {
      this.#carry = bytes[0] as number;
    }
    return out;
  }

  /** Whether an odd byte is waiting (a stream that ends with one was truncated). */
  get pending(): boolean {
    return this.#carry >= 0;
  }
}
