/**
 * Reusable send buffers for one UDP socket. node:dgram does not copy: it sends after an address lookup on a
 * later tick, or queues in libuv when the kernel buffer is full, so a buffer may only be rewritten once the
 * send that used it has completed. Sends on one socket complete in order, so "issue number < completed count"
 * says a buffer is free. A send that finds its ring slot still in flight gets a fresh buffer instead.
 */
export class TxBuffers {
  readonly #bufs: Array<Uint8Array | undefined>;
  readonly #lastIssue: Float64Array;
  #issued = 0;
  #completed = 0;
  /** Sends that needed a fresh buffer because the ring slot was still in flight. */
  fresh = 0;

  constructor(slots = 8) {
    this.#bufs = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.#lastIssue = new Float64Array(slots).fill(-1);
  }

  /** Sends issued and not yet completed. */
  get inFlight(): number {
    return this.#issued - this.#completed;
  }

  /** A buffer of at least `size` octets for the next send; call `issued()` right after handing it to send. */
  acquire(size: number): Uint8Array {
    const i = this.#issued % this.#bufs.length;
    if ((this.#lastIssue[i] as number) >= this.#completed) {
      this.fresh++;
      return new Uint8Array(size);
    }
    let buf = this.#bufs[i];
    if (buf === undefined || buf.length < size) {
      buf = new Uint8Array(Math.max(size, 256));
      this.#bufs[i] = buf;
    }
    this.#lastIssue[i] = this.#issued;
    return buf;
  }

  /** Record that the buffer from the last `acquire` was handed to the socket. */
  issued(): void {
    this.#issued++;
  }

  /** Record that the oldest in-flight send completed (from the dgram send callback). */
  completed(): void {
    if (this.#completed < this.#issued) this.#completed++;
  }
}
