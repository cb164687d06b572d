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
  /** The address the last SDP gave, while it may still take over from another source latched since. */
  #signalled: RtpRemote | null = null;
  #preferUntilMs = -Infinity;

  /** `relatchAfterMs` >= 0 (Infinity: never, except after `learn()`). */
  constructor(relatchAfterMs: number = DEFAULT_RELATCH_AFTER_MS) {
    if (!(relatchAfterMs >= 0)) throw new RangeError('relatchAfterMs must be >= 0');
    this.#relatchAfterMs = relatchAfterMs;
  }

  /** True until a source has been latched since creation or the last `learn()`. */
  get learning(): boolean {
    return this.#learning;
  }

  /**
   * Latch to the next source that sends valid RTP, whatever it is (a new SDP offer or answer). When the SDP gave
   * `signalled`, that address still takes over from whatever was latched first for `relatchAfterMs` after the
   * first packet: after a re-INVITE the old source often sends a few more packets before the new one starts,
   * and must not hold the latch against the address the peer just signalled.
   */
  learn(signalled: RtpRemote | null = null): void {
    this.#learning = true;
    this.#signalled = signalled;
    this.#preferUntilMs = -Infinity;
  }

  /**
   * Judge one valid RTP packet from `from`, `current` being where the session sends now (the SDP address while
   * learning, else the latched source). On 'latch' the caller moves its destination to `from`.
   */
  admit(current: RtpRemote | null, from: RtpRemote, nowMs: number): LatchVerdict {
    const same = current !== null && sameAddress(current, from);
    if (!same && !this.#learning && nowMs - this.#heardMs < this.#relatchAfterMs) {
      const s = this.#signalled;
      if (s === null || nowMs >= this.#preferUntilMs || !sameAddress(s, from)) return 'refuse';
      this.#preferUntilMs = -Infinity; // the signalled address took over: locked to it from now on
    } else if (this.#learning) {
      this.#learning = false;
      const s = this.#signalled;
      this.#preferUntilMs = s !== null && !sameAddress(s, from) ? nowMs + this.#relatchAfterMs : -Infinity;
    }
    this.#heardMs = nowMs;
    return same ? 'current' : 'latch';
  }
}

function sameAddress(a: RtpRemote, b: RtpRemote): boolean {
  return a.port === b.port && a.address === b.address;
}
