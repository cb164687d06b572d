/**
 * Hands out even RTP ports from a configured range (RFC 3550 §11: RTP on an even port, RTCP on the next odd
 * one, which stays reserved with it). Round-robin, so a port just released is not reused at once and late
 * packets of a finished call do not land in a new one.
 */

import { CallroomError } from '../../core/errors.ts';

/** No even port left in the range. Retryable: calls ending free ports. */
export class PortsExhaustedError extends CallroomError {
  constructor(min: number, max: number) {
    super('CR_RTP_PORTS_EXHAUSTED', `no free RTP port in ${min}-${max}`, { retryable: true });
    this.name = 'PortsExhaustedError';
  }
}

export interface PortRange {
  /** Lowest port (rounded up to even). */
  readonly min: number;
  /** Highest port usable for RTP (rounded down to even). */
  readonly max: number;
}

export class PortAllocator {
  readonly min: number;
  readonly max: number;
  readonly #inUse: Uint8Array;
  #cursor = 0;
  #used = 0;

  constructor(range: PortRange) {
    const min = range.min + (range.min & 1);
    const max = range.max - (range.max & 1);
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65534 || min > max) {
      throw new RangeError(`invalid RTP port range ${range.min}-${range.max}`);
    }
    this.min = min;
    this.max = max;
    this.#inUse = new Uint8Array((max - min) / 2 + 1);
  }

  /** Number of even ports in the range. */
  get capacity(): number {
    return this.#inUse.length;
  }

  get inUse(): number {
    return this.#used;
  }

  get available(): number {
    return this.#inUse.length - this.#used;
  }

  /** Take the next free even port. Throws PortsExhaustedError when none is left. */
  allocate(): number {
    const n = this.#inUse.length;
    if (this.#used >= n) throw new PortsExhaustedError(this.min, this.max);
    for (let i = 0; i < n; i++) {
      const idx = (this.#cursor + i) % n;
      if (this.#inUse[idx] === 0) {
        this.#inUse[idx] = 1;
        this.#used++;
        this.#cursor = (idx + 1) % n;
        return this.min + idx * 2;
      }
    }
    throw new PortsExhaustedError(this.min, this.max);
  }

  /** True if `port` is currently allocated. */
  isAllocated(port: number): boolean {
    const idx = this.#index(port);
    return idx >= 0 && this.#inUse[idx] === 1;
  }

  /** Return a port. Releasing a port that is not allocated (twice, or foreign) is ignored and returns false. */
  release(port: number): boolean {
    const idx = this.#index(port);
    if (idx < 0 || this.#inUse[idx] !== 1) return false;
    this.#inUse[idx] = 0;
    this.#used--;
    return true;
  }

  #index(port: number): number {
    if (!Number.isInteger(port) || port < this.min || port > this.max || (port & 1) !== 0) return -1;
    return (port - this.min) / 2;
  }
}
