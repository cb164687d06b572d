/**
 * Symmetric RTP (RFC 4961) with "learning", as production gateways do it (rtpengine's endpoint learning,
 * FreeSWITCH's auto-adjust): the first source that sends valid RTP after the session starts or after a new SDP
 * is latched, and from then on only that source is heard. Re-latching to every new source would let one stray or
 * spoofed packet redirect the outbound audio, and two sources make it flip-flop; so another source is only taken
 * over once the latched one has been silent for `relatchAfterMs` (the peer moved: NAT rebinding, a new media relay).
 */

import type { RtpRemote } from './rtp-session-options.ts';

/** What to do with a valid RTP packet: it is from the latched source, it moves the latch, or it is refused. */
export type LatchVerdict = 'current' | 'latch' | 'refuse';

/** Default silence of the latched source after which another source may take over. */
export const DEFAULT_RELATCH_AFTER_MS = 1000;

/** The learning state of one session's remote source. Allocation-free per packet. */
export class SourceLatch {
  readonly #relatchAfterMs: number;
  #learning = true;
  #heardMs = 0;

  /** `relatchAfterMs` >= 0 (Infinity: never, except after `learn()`). */
  constructor(relatchAfterMs: number = DEFAULT_RELATCH_AFTER_MS) {
    if (!(relatchAfterMs >= 0)) throw new RangeError('relatchAfterMs must be >= 0');
    this.#relatchAfterMs = relatchAfterMs;
  }

  /** True until a source has been latched since creation or the last `learn()`. */
  get learning(): boolean {
    return this.#learning;
  }

  /** Latch to the next source that sends valid RTP, whatever it is (a new SDP offer or answer). */
  learn(): void {
    this.#learning = true;
  }

  /**
   * Judge one valid RTP packet from `from`, `current` being where the session sends now (the SDP address while
   * learning, else the latched source). On 'latch' the caller moves its destination to `from`.
   */
  admit(current: RtpRemote | null, from: RtpRemote, nowMs: number): LatchVerdict {
    const same = current !== null && current.port === from.port && current.address === from.address;
    if (!same && !this.#learning && nowMs - this.#heardMs < this.#relatchAfterMs) return 'refuse';
    this.#learning = false;
    this.#heardMs = nowMs;
    return same ? 'current' : 'latch';
  }
}
