/**
 * Receiver-side RTP statistics for one session (RFC 3550 §6.4.1, §A.1, §A.8): extended highest sequence
 * number, cumulative loss, and interarrival jitter. Allocation-free per packet.
 */

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/**
 * A change in transit time larger than this (in seconds) is not network jitter but a timestamp discontinuity (a
 * new source behind the same SSRC, a sender that reset its clock): the jitter estimate restarts from it instead
 * of absorbing a jump of minutes into J.
 */
const MAX_TRANSIT_STEP_S = 3;

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
  /** New sequence spaces followed: a new SSRC, or a restart confirmed by the next packet (§A.1). */
  restarts = 0;
  /** Packets whose timestamp did not fit the arrival time (see MAX_TRANSIT_STEP_S): the jitter estimate restarted. */
  timestampJumps = 0;
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
      if (this.#has) {
        this.#lostBefore += this.#currentLost();
        this.restarts++;
      }
      this.#init(pkt.ssrc, seq);
    } else {
      // §A.1: up to MAX_DROPOUT ahead is in order (with a gap), up to MAX_MISORDER behind a duplicate or
      // reordered packet; anything else is a jump, a restarted sender only if the next packet follows it.
      const udelta = (seq - this.#maxSeq) & 0xffff;
      if (udelta < MAX_DROPOUT) {
        if (udelta !== 0) {
          if (seq < this.#maxSeq) this.#cycles += 65536;
          this.#maxSeq = seq;
        }
        this.#received++;
      } else if (udelta <= 65536 - MAX_MISORDER) {
        if (seq !== this.#badSeq) {
          this.#badSeq = (seq + 1) & 0xffff;
          return;
        }
        this.#lostBefore += this.#currentLost();
        this.restarts++;
        this.#init(pkt.ssrc, seq);
      } else {
        this.#received++;
      }
    }
    if (!timed) return;
    const arrival = Math.round((arrivalMs * clockRate) / 1000);
    // Both terms wrap modulo 2^32 like the RTP timestamp; `| 0` keeps the difference exact.
    const transit = (arrival - pkt.timestamp) | 0;
    if (this.#hasTransit && clockRate === this.#jitterRate) {
      const d = Math.abs((transit - this.#lastTransit) | 0);
      if (d > MAX_TRANSIT_STEP_S * clockRate) this.timestampJumps++;
      else this.#jitter += (d - this.#jitter) / 16;
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
