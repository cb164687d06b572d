/**
 * Fixed-delay receive jitter buffer for RTP-like packets, played out one frame per tick, plus a tiny PCM
 * concealer for the frames it reports lost. Synchronous and allocation-free per packet: a power-of-two ring
 * indexed by sequence number, typed-array bookkeeping.
 */

import { seqDiff } from './rtp/sequence.ts';

/** What the buffer needs from a packet. `ssrc`, when present, tells sources apart (a new one is followed). */
export interface JitterPacket {
  readonly sequenceNumber: number;
  readonly ssrc?: number;
}

/** Returned by `pop()` when the packet due now is missing: conceal one frame (see `PcmConcealer`). */
export const LOST: unique symbol = Symbol('jitter-buffer.lost');

/** A packet to play, LOST (conceal), or null (nothing playing: buffering or the sender is silent). */
export type JitterPop<T> = T | typeof LOST | null;

/**
 * What happened to a pushed packet. 'held': it may start a new stream (another SSRC, a sequence number that does
 * not fit the current one, or one behind the playout point); it is kept aside and played if the next packet
 * follows it, else dropped (counted late when it was behind the playout point, dropped otherwise).
 */
export type JitterPushResult = 'accepted' | 'duplicate' | 'held';

export interface JitterBufferOptions {
  /** Duration of one packet; `pop()` is called once per frame. Default 20 ms. */
  readonly frameMs?: number;
  /** Buffered span before playout starts (and restarts after the sender falls silent). Default 60 ms. */
  readonly prefetchMs?: number;
  /** Maximum buffered span; older packets are dropped beyond it to bound latency. Default 300 ms. */
  readonly maxDepthMs?: number;
  /** Consecutive empty-buffer frames concealed before the buffer assumes silence and rebuffers. Default 5. */
  readonly maxConcealFrames?: number;
}

export interface JitterBufferStats {
  /** Every packet pushed (including duplicates and late ones). */
  received: number;
  /** Network loss: sequence numbers never received (RFC 3550 §6.4.1 "expected - received"), never negative. */
  lost: number;
  /** Arrived after their playout slot had passed (already concealed) and did not start a new stream: dropped. */
  late: number;
  duplicate: number;
  /** Arrived after a packet with a higher sequence number. */
  reordered: number;
  /** LOST markers returned by `pop()`. */
  concealed: number;
  /** Dropped to keep the buffered span under `maxDepthMs`, or held packets that the next packet did not confirm. */
  dropped: number;
  /** `reset()` calls: everything buffered discarded. */
  resets: number;
  /** Discontinuities followed without a reset: a new SSRC, a sequence restart or jump, confirmed by two packets. */
  resyncs: number;
}

/**
 * RFC 3550 §A.1: a packet up to MAX_MISORDER behind the highest is a duplicate or reordered; further behind (or
 * further ahead than the buffer can hold) it is a jump, taken as a new sequence space once the next packet
 * follows it.
 */
const MAX_MISORDER = 100;
/** Duplicate detection looks back MAX_MISORDER packets: a power of two above it. */
const SEEN_WINDOW = 128;
/**
 * A network duplicate arrives within a frame or two of its original. The same sequence number arriving later
 * than this is not a duplicate but a sender that restarted its numbering a little way back (a replayed prompt).
 */
const DUPLICATE_TICKS = 2;
/**
 * The packet after a held one confirms a new stream when it is at most this far ahead of it in sequence (or the
 * one just before it: the pair swapped). RFC 3550 §A.1 asks for two packets in sequence; one lost between them
 * still shows a stream, not a stray.
 */
const CONFIRM_STEP = 2;
/** Arrival jitter allowed when judging whether a gap in sequence numbers is loss (see `push`), in frames. */
const GAP_SLACK_TICKS = 2;

/**
 * Jitter buffer keyed by 16-bit sequence number, handling the 65535 -> 0 wrap and stream discontinuities the way
 * RFC 3550 §A.1 resynchronises (two packets in sequence), without losing either of them and without a gap: a
 * confirmed new stream (new SSRC, sequence restart, large jump, a replay of old sequence numbers) is renumbered
 * to continue right after what is buffered, so playout goes on from the old stream into the new one.
 */
export class JitterBuffer<T extends JitterPacket> {
  readonly #slots: Array<T | undefined>;
  readonly #mask: number;
  readonly #prefetch: number;
  readonly #maxSpan: number;
  readonly #maxConceal: number;
  /** Last internal sequence number accepted at each index mod SEEN_WINDOW, -1 if none: duplicate detection. */
  readonly #seen = new Int32Array(SEEN_WINDOW).fill(-1);
  /** The `pop()` count when that entry was accepted: a "duplicate" long after the original is a replay. */
  readonly #seenTick = new Int32Array(SEEN_WINDOW);
  #tick = 0;
  #count = 0;
  #playing = false;
  #everPlayed = false;
  /** Internal sequence numbers: the packet's own plus this offset (mod 2^16), so a new stream can continue the old. */
  #offset = 0;
  #nextSeq = 0;
  #has = false;
  #highest = 0;
  #highestExt = 0;
  /** The `pop()` count when the highest packet arrived. */
  #highestTick = 0;
  #baseExt = 0;
  #unique = 0;
  #ssrc: number | undefined = undefined;
  #emptyRun = 0;
  /** Ticks spent buffering since the first packet of a talk spurt arrived. */
  #waited = 0;
  /** A packet that may start a new stream, waiting for the next packet to confirm it. */
  #held: T | undefined = undefined;
  /** The held packet was behind the playout point of the current stream (late, if nothing confirms it). */
  #heldLate = false;
  /** The `pop()` count when the held packet arrived. */
  #heldTick = 0;
  readonly #stats: JitterBufferStats = {
    received: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    reordered: 0,
    concealed: 0,
    dropped: 0,
    resets: 0,
    resyncs: 0,
  };

  constructor(opts: JitterBufferOptions = {}) {
    const frameMs = opts.frameMs ?? 20;
    if (!(frameMs > 0)) throw new RangeError('frameMs must be > 0');
    this.#prefetch = Math.max(1, Math.round((opts.prefetchMs ?? 60) / frameMs));
    this.#maxSpan = Math.max(this.#prefetch + 1, Math.round((opts.maxDepthMs ?? 300) / frameMs));
    if (this.#maxSpan > 16384) throw new RangeError('maxDepthMs too large for the sequence space');
    let size = 1;
    while (size < this.#maxSpan) size <<= 1;
    this.#slots = new Array<T | undefined>(size).fill(undefined);
    this.#mask = size - 1;
    this.#maxConceal = opts.maxConcealFrames ?? 5;
  }

  /** Packets currently buffered. */
  get size(): number {
    return this.#count;
  }

  /** True once prefetch completed and until the sender falls silent. */
  get playing(): boolean {
    return this.#playing;
  }

  /** Snapshot of the counters. */
  stats(): JitterBufferStats {
    return { ...this.#stats, lost: this.#stats.lost + this.#currentLost() };
  }

  /** Add a received packet. Never throws; the result says whether it was kept. */
  push(pkt: T): JitterPushResult {
    this.#stats.received++;
    const raw = pkt.sequenceNumber & 0xffff;
    if (!this.#has) {
      this.#begin(pkt.ssrc, raw);
      return this.#accept(pkt, raw);
    }
    let late = false;
    if (pkt.ssrc === undefined || this.#ssrc === undefined || pkt.ssrc === this.#ssrc) {
      const s = (raw + this.#offset) & 0xffff;
      const ahead = seqDiff(s, this.#highest);
      // In order: the next packet always (a burst after a stall is bounded by dropping the oldest). After a gap
      // only if it looks like loss: the buffer holds it without dropping what is buffered, and no more numbers
      // are missing than frames have passed. Otherwise the sender skipped numbers: a jump, to be confirmed.
      if (ahead === 1) return this.#current(pkt, s);
      if (ahead > 1 && seqDiff(s, this.#nextSeq) < this.#maxSpan && ahead - 1 <= ((this.#tick - this.#highestTick) | 0) + GAP_SLACK_TICKS) {
        return this.#current(pkt, s);
      }
      if (ahead <= 0 && ahead >= -MAX_MISORDER) {
        const idx = s & (SEEN_WINDOW - 1);
        const seen = this.#seen[idx] === s;
        // A network duplicate arrives close to its original; the same number much later is a replayed stream.
        if (seen && ((this.#tick - (this.#seenTick[idx] as number)) | 0) <= DUPLICATE_TICKS) {
          this.#dropHeld();
          this.#stats.duplicate++;
          return 'duplicate';
        }
        if (!seen && (seqDiff(s, this.#nextSeq) >= 0 || (!this.#everPlayed && -ahead < this.#maxSpan))) {
          // Reordered but in time, or reordered during the first prefetch (playout then starts earlier).
          return this.#current(pkt, s);
        }
        // Behind the playout point: late, unless the next packet follows it (a sender that restarted its
        // numbering a little way back), so it is held like the start of a new stream.
        late = !seen;
      }
    }
    // Another source, or a sequence number that does not fit: a new stream if the next packet follows it, one
    // lost packet between them allowed (or comes just before it: the first two packets of a stream swapped).
    const held = this.#held;
    const step = held !== undefined && held.ssrc === pkt.ssrc ? seqDiff(raw, held.sequenceNumber & 0xffff) : 0;
    if (held !== undefined && step !== 0 && step >= -1 && step <= CONFIRM_STEP) {
      this.#held = undefined;
      if (step > 0) {
        this.#resync(held);
        this.#accept(held, (held.sequenceNumber + this.#offset) & 0xffff, this.#heldTick);
        return this.#accept(pkt, (raw + this.#offset) & 0xffff);
      }
      this.#resync(pkt);
      this.#accept(pkt, (raw + this.#offset) & 0xffff);
      return this.#accept(held, (held.sequenceNumber + this.#offset) & 0xffff, this.#heldTick);
    }
    this.#dropHeld();
    this.#held = pkt;
    this.#heldLate = late;
    this.#heldTick = this.#tick;
    return 'held';
  }

  /** Called once per frame tick: the next packet, LOST to conceal, or null when nothing is playing. */
  pop(): JitterPop<T> {
    this.#tick = (this.#tick + 1) | 0; // an int32 like the ticks stored in #seenTick (wraps after 1.3 years at 20 ms)
    if (!this.#playing) {
      if (this.#count === 0) return null;
      // After a silence, start at the first buffered packet rather than concealing the gap before it.
      while (this.#slots[this.#nextSeq & this.#mask] === undefined) this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
      // Start once the prefetch is buffered, or once it has been waited for: a talk spurt shorter than the
      // prefetch (a short word, a blip of comfort noise) still plays.
      this.#waited++;
      if (seqDiff(this.#highest, this.#nextSeq) + 1 < this.#prefetch && this.#waited < this.#prefetch) return null;
      this.#playing = true;
      this.#waited = 0;
      this.#everPlayed = true;
      this.#emptyRun = 0;
    }
    const slot = this.#nextSeq & this.#mask;
    const pkt = this.#slots[slot];
    if (pkt !== undefined) {
      this.#slots[slot] = undefined;
      this.#count--;
      this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
      this.#emptyRun = 0;
      return pkt;
    }
    if (this.#count === 0) {
      this.#emptyRun++;
      if (this.#emptyRun > this.#maxConceal) {
        // The sender has gone quiet (DTX, hold, end of talk spurt): stop concealing and rebuffer from the next
        // sequence number not yet received, so packets resuming there are not counted late.
        this.#playing = false;
        this.#nextSeq = (this.#highest + 1) & 0xffff;
        return null;
      }
    } else {
      this.#emptyRun = 0;
    }
    this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
    this.#stats.concealed++;
    return LOST;
  }

  /** Forget everything buffered and the stream position (keeps counters). */
  reset(): void {
    this.#stats.lost += this.#currentLost();
    this.#unique = 0;
    this.#stats.resets++;
    this.#slots.fill(undefined);
    this.#count = 0;
    this.#playing = false;
    this.#everPlayed = false;
    this.#has = false;
    this.#ssrc = undefined;
    this.#offset = 0;
    this.#held = undefined;
    this.#emptyRun = 0;
    this.#waited = 0;
    this.#seen.fill(-1);
  }

  /** A packet of the current stream at internal number `s`: in order, or reordered in time. */
  #current(pkt: T, s: number): JitterPushResult {
    this.#dropHeld();
    if (seqDiff(s, this.#nextSeq) < 0) {
      // Newer than anything received yet behind the playout point: the buffer ran dry and concealed ahead of it
      // (a short pause, a late burst): not lost, only late, so it plays now, a frame later than planned. Or a
      // packet reordered during the first prefetch: playout starts earlier.
      this.#nextSeq = s;
    }
    return this.#accept(pkt, s);
  }

  #accept(pkt: T, s: number, arrivedTick = this.#tick): JitterPushResult {
    const idx = s & (SEEN_WINDOW - 1);
    this.#seen[idx] = s;
    this.#seenTick[idx] = arrivedTick;
    this.#unique++;
    const ahead = seqDiff(s, this.#highest);
    if (ahead > 0) {
      this.#highestExt += ahead;
      this.#highest = s;
      this.#highestTick = arrivedTick;
    } else {
      this.#stats.reordered++;
    }
    const slot = s & this.#mask;
    if (this.#slots[slot] === undefined) this.#count++;
    this.#slots[slot] = pkt;
    // Bound latency: a sender whose clock runs fast, or a burst after a stall, must not grow the delay forever.
    while (seqDiff(this.#highest, this.#nextSeq) >= this.#maxSpan) this.#dropHead();
    return 'accepted';
  }

  #begin(ssrc: number | undefined, raw: number): void {
    this.#has = true;
    this.#ssrc = ssrc;
    this.#offset = 0;
    // As if the packet before the first had been the highest: the first one is then simply "in order".
    this.#highest = (raw - 1) & 0xffff;
    this.#highestExt = raw - 1;
    this.#baseExt = raw;
    this.#nextSeq = raw;
  }

  /**
   * Follow a new stream starting at `first` (its own sequence number): renumber it to continue right after the
   * old one's highest packet, so what is buffered plays first and the new stream follows without a gap (frames
   * concealed past the old stream's end were an underrun: the new stream is not late for them).
   */
  #resync(first: T): void {
    this.#stats.resyncs++;
    this.#ssrc = first.ssrc ?? this.#ssrc;
    const next = (this.#highest + 1) & 0xffff;
    this.#offset = (next - (first.sequenceNumber & 0xffff)) & 0xffff;
    if (seqDiff(this.#nextSeq, next) > 0) this.#nextSeq = next;
  }

  /** The held packet was not the start of a new stream: a late packet, or a stray. */
  #dropHeld(): void {
    if (this.#held === undefined) return;
    this.#held = undefined;
    if (this.#heldLate) {
      this.#unique++; // received, only too late: not network loss
      this.#stats.reordered++;
      this.#stats.late++;
    } else {
      this.#stats.dropped++;
    }
  }

  #currentLost(): number {
    const expected = this.#has ? this.#highestExt - this.#baseExt + 1 : 0;
    return Math.max(0, expected - this.#unique);
  }

  #dropHead(): void {
    const slot = this.#nextSeq & this.#mask;
    if (this.#slots[slot] !== undefined) {
      this.#slots[slot] = undefined;
      this.#count--;
      this.#stats.dropped++;
    }
    this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
  }
}

/**
 * Packet loss concealment for decoded PCM: repeat the last good frame, fading linearly to silence over
 * `fadeFrames` consecutive losses (a buzz is better than a click, silence better than a long buzz).
 */
export class PcmConcealer {
  #last: Int16Array;
  #len = 0;
  #run = 0;
  readonly #fadeFrames: number;

  constructor(fadeFrames = 3, initialCapacity = 960) {
    this.#fadeFrames = Math.max(1, fadeFrames);
    this.#last = new Int16Array(initialCapacity);
  }

  /** Remember a good decoded frame (copied into an internal buffer). */
  good(frame: Int16Array): void {
    if (frame.length > this.#last.length) this.#last = new Int16Array(frame.length);
    this.#last.set(frame);
    this.#len = frame.length;
    this.#run = 0;
  }

  /** Write one concealment frame of `out.length` samples into `out` and return it. */
  conceal(out: Int16Array): Int16Array {
    const n = out.length;
    const total = this.#fadeFrames * n;
    const start = this.#run * n;
    this.#run++;
    if (this.#len === 0 || start >= total) {
      out.fill(0);
      return out;
    }
    for (let i = 0; i < n; i++) {
      const gain = 1 - (start + i) / total;
      const src = this.#last[i % this.#len] as number;
      out[i] = gain > 0 ? Math.round(src * gain) : 0;
    }
    return out;
  }
}
