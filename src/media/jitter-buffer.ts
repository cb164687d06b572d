/**
 * Fixed-delay receive jitter buffer for RTP-like packets, played out one frame per tick, plus a tiny PCM
 * concealer for the frames it reports lost. Synchronous and allocation-free per packet: a power-of-two ring
 * indexed by sequence number, typed-array bookkeeping.
 */

import { seqDiff } from './rtp/sequence.ts';

/** What the buffer needs from a packet. `ssrc`, when present, resets the buffer when the source changes. */
export interface JitterPacket {
  readonly sequenceNumber: number;
  readonly ssrc?: number;
}

/** Returned by `pop()` when the packet due now is missing: conceal one frame (see `PcmConcealer`). */
export const LOST: unique symbol = Symbol('jitter-buffer.lost');

/** A packet to play, LOST (conceal), or null (nothing playing: buffering or the sender is silent). */
export type JitterPop<T> = T | typeof LOST | null;

/** What happened to a pushed packet. */
export type JitterPushResult = 'accepted' | 'duplicate' | 'late' | 'dropped';

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
  /** Arrived after their playout slot had passed (already concealed), dropped. */
  late: number;
  duplicate: number;
  /** Arrived after a packet with a higher sequence number. */
  reordered: number;
  /** LOST markers returned by `pop()`. */
  concealed: number;
  /** Dropped to keep the buffered span under `maxDepthMs`, or implausible jumps not (yet) confirmed. */
  dropped: number;
  /** Restarts because the source or its sequence space changed. */
  resets: number;
}

/** RFC 3550 §A.1: jumps larger than these are a restarted sender, confirmed by two packets in sequence. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEEN_WINDOW = 1024;

/** Jitter buffer keyed by 16-bit sequence number, handling the 65535 -> 0 wrap. */
export class JitterBuffer<T extends JitterPacket> {
  readonly #slots: Array<T | undefined>;
  readonly #mask: number;
  readonly #prefetch: number;
  readonly #maxSpan: number;
  readonly #maxConceal: number;
  /** Last sequence number accepted at each index mod SEEN_WINDOW, -1 if none: duplicate detection. */
  readonly #seen = new Int32Array(SEEN_WINDOW).fill(-1);
  #count = 0;
  #playing = false;
  #everPlayed = false;
  #nextSeq = 0;
  #has = false;
  #highest = 0;
  #highestExt = 0;
  #baseExt = 0;
  #unique = 0;
  #ssrc: number | undefined = undefined;
  #emptyRun = 0;
  /** Sequence number that would confirm an implausible jump (RFC 3550 §A.1 bad_seq), -1 if none. */
  #badSeq = -1;
  readonly #stats: JitterBufferStats = {
    received: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    reordered: 0,
    concealed: 0,
    dropped: 0,
    resets: 0,
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
    const expected = this.#has ? this.#highestExt - this.#baseExt + 1 : 0;
    return { ...this.#stats, lost: this.#stats.lost + Math.max(0, expected - this.#unique) };
  }

  /** Add a received packet. Never throws; the result says whether it was kept. */
  push(pkt: T): JitterPushResult {
    this.#stats.received++;
    const s = pkt.sequenceNumber & 0xffff;
    if (pkt.ssrc !== undefined && this.#ssrc !== undefined && pkt.ssrc !== this.#ssrc) this.#restart();
    this.#ssrc = pkt.ssrc;

    if (!this.#has) {
      this.#has = true;
      this.#highest = s;
      this.#highestExt = s;
      this.#baseExt = s;
      this.#nextSeq = s;
    } else {
      const ahead = seqDiff(s, this.#highest);
      if (ahead > MAX_DROPOUT || ahead < -MAX_DROPOUT) {
        // A restarted sender or garbage: act only when the next packet confirms the new sequence space.
        if (s !== this.#badSeq) {
          this.#badSeq = (s + 1) & 0xffff;
          this.#stats.dropped++;
          return 'dropped';
        }
        this.#restart();
        this.#stats.received--; // counted again by the re-push as the first packet of the new stream
        return this.push(pkt);
      }
      this.#badSeq = -1;
      const idx = s & (SEEN_WINDOW - 1);
      if (ahead <= 0 && -ahead < SEEN_WINDOW && this.#seen[idx] === s) {
        this.#stats.duplicate++;
        return 'duplicate';
      }
      if (ahead > 0) {
        this.#highestExt += ahead;
        this.#highest = s;
      } else {
        this.#stats.reordered++;
      }
      if (seqDiff(s, this.#nextSeq) < 0) {
        if (this.#everPlayed || -ahead > MAX_MISORDER) {
          this.#seen[idx] = s;
          this.#unique++;
          this.#stats.late++;
          return 'late';
        }
        this.#nextSeq = s; // reordered during the first prefetch: start earlier
      }
    }

    this.#seen[s & (SEEN_WINDOW - 1)] = s;
    this.#unique++;
    const slot = s & this.#mask;
    if (this.#slots[slot] === undefined) this.#count++;
    this.#slots[slot] = pkt;
    // Bound latency: a sender whose clock runs fast, or a burst after a stall, must not grow the delay forever.
    while (seqDiff(this.#highest, this.#nextSeq) >= this.#maxSpan) this.#dropHead();
    return 'accepted';
  }

  /** Called once per frame tick: the next packet, LOST to conceal, or null when nothing is playing. */
  pop(): JitterPop<T> {
    if (!this.#playing) {
      if (this.#count === 0) return null;
      // After a silence, start at the first buffered packet rather than concealing the gap before it.
      while (this.#slots[this.#nextSeq & this.#mask] === undefined) this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
      if (seqDiff(this.#highest, this.#nextSeq) + 1 < this.#prefetch) return null;
      this.#playing = true;
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
    this.#slots.fill(undefined);
    this.#count = 0;
    this.#playing = false;
    this.#everPlayed = false;
    this.#has = false;
    this.#ssrc = undefined;
    this.#badSeq = -1;
    this.#emptyRun = 0;
    this.#seen.fill(-1);
  }

  #restart(): void {
    // Keep loss accounting of the old stream, then start a fresh sequence space.
    const expected = this.#has ? this.#highestExt - this.#baseExt + 1 : 0;
    this.#stats.lost += Math.max(0, expected - this.#unique);
    this.#unique = 0;
    this.#stats.resets++;
    this.reset();
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
