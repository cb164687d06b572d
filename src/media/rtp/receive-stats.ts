/**
 * Receiver-side RTP statistics for one session (RFC 3550 §6.4.1, §A.1, §A.8): extended highest sequence
 * number, cumulative loss, and interarrival jitter. Allocation-free per packet.
 */

import { seqDiff } from './sequence.ts';

const MAX_DROPOUT = 3000;

/** The fields of an RTP packet the statistics look at. */
export interface StatsPacket {
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
}

export class RtpReceiveStats {
  /** Valid RTP packets counted (all sources). */
  packets = 0;
  /** Octets of those datagrams. */
  bytes = 0;
  #has = false;
  #ssrc = 0;
  #maxSeq = 0;
  #cycles = 0;
  #baseSeq = 0;
  #received = 0;
  #badSeq = -1;
  /** Loss of earlier sources or sequence spaces (a restarted sender). */
  #lostBefore = 0;
  #jitter = 0;
  #lastTransit = 0;
  #hasTransit = false;
  #jitterRate = 8000;

  /** SSRC of the current source, or undefined before the first packet. */
  get ssrc(): number | undefined {
    return this.#has ? this.#ssrc : undefined;
  }

  /** Extended highest sequence number received (cycles * 65536 + max seq). */
  get extendedHighest(): number {
    return this.#cycles + this.#maxSeq;
  }

  /** Cumulative packets lost (expected - received), never negative per source. */
  get lost(): number {
    return this.#lostBefore + this.#currentLost();
  }

  /** Interarrival jitter in timestamp units (RFC 3550 §6.4.1 J). */
  get jitter(): number {
    return this.#jitter;
  }

  /** Interarrival jitter in milliseconds, at the clock rate of the last packet used for it. */
  get jitterMs(): number {
    return (this.#jitter * 1000) / this.#jitterRate;
  }

  /**
   * Account one valid RTP packet of `size` octets arriving at `arrivalMs`. Jitter uses only packets with
   * `timed` set: telephone-events keep one timestamp for a whole key press and would read as jitter.
   */
  update(pkt: StatsPacket, size: number, arrivalMs: number, clockRate: number, timed: boolean): void {
    this.packets++;
    this.bytes += size;
    const seq = pkt.sequenceNumber;
    if (!this.#has || pkt.ssrc !== this.#ssrc) {
      if (this.#has) this.#lostBefore += this.#currentLost();
      this.#init(pkt.ssrc, seq);
    } else {
      const delta = seqDiff(seq, this.#maxSeq);
      if (delta > MAX_DROPOUT || delta < -MAX_DROPOUT) {
        // §A.1: a big jump is a restarted sender only if the next packet follows it.
        if (seq !== this.#badSeq) {
          this.#badSeq = (seq + 1) & 0xffff;
          return;
        }
        this.#lostBefore += this.#currentLost();
        this.#init(pkt.ssrc, seq);
      } else {
        this.#badSeq = -1;
        if (delta > 0) {
          if (seq < this.#maxSeq) this.#cycles += 65536;
          this.#maxSeq = seq;
        }
        this.#received++;
      }
    }
    if (!timed) return;
    const arrival = Math.round((arrivalMs * clockRate) / 1000);
    // Both terms wrap modulo 2^32 like the RTP timestamp; `| 0` keeps the difference exact.
    const transit = (arrival - pkt.timestamp) | 0;
    if (this.#hasTransit && clockRate === this.#jitterRate) {
      const d = Math.abs((transit - this.#lastTransit) | 0);
      this.#jitter += (d - this.#jitter) / 16;
    } else if (clockRate !== this.#jitterRate) {
      this.#jitter = 0;
    }
    this.#jitterRate = clockRate;
    this.#lastTransit = transit;
    this.#hasTransit = true;
  }

  #init(ssrc: number, seq: number): void {
    this.#has = true;
    this.#ssrc = ssrc;
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#cycles = 0;
    this.#received = 1;
    this.#badSeq = -1;
    this.#hasTransit = false;
  }

  #currentLost(): number {
    if (!this.#has) return 0;
    const expected = this.#cycles + this.#maxSeq - this.#baseSeq + 1;
    return Math.max(0, expected - this.#received);
  }
}
