/** Whether a re-INVITE (or an UPDATE with an offer) received in a dialog may go ahead now. */
export type ReinviteCheck =
  | { readonly ok: true }
  /** §14.2: we have an INVITE of our own in progress on this dialog (glare). */
  | { readonly ok: false; readonly status: 491 }
  /** §14.2: an earlier INVITE from the peer is still unanswered; retry after `retryAfter` seconds. */
  | { readonly ok: false; readonly status: 500; readonly retryAfter: number };

/**
 * The INVITE transactions in progress inside one dialog (RFC 3261 §14), so that two re-INVITEs
 * never overlap: ours in flight makes the peer's a 491 (glare), the peer's unanswered one makes
 * its next a 500 with Retry-After.
 */
export class ReinviteGuard {
  #outgoing = false;
  #incoming: number | undefined;

  /** Whether any INVITE is in progress in this dialog. */
  get busy(): boolean {
    return this.#outgoing || this.#incoming !== undefined;
  }

  get outgoing(): boolean {
    return this.#outgoing;
  }

  /** `random` in [0, 1) chooses the Retry-After of a 500. */
  checkIncoming(random: () => number = Math.random): ReinviteCheck {
    // §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog
    // is in progress MUST return a 491 (Request Pending) response to the received INVITE."
    if (this.#outgoing) return { ok: false, status: 491 };
    // §14.2: "A UAS that receives a second INVITE before it sends the final response to a first
    // INVITE with a lower CSeq sequence number on the same dialog MUST return a 500 (Server Internal
    // Error) response to the second INVITE and MUST include a Retry-After header field with a
    // randomly chosen value of between 0 and 10 seconds."
    if (this.#incoming !== undefined) return { ok: false, status: 500, retryAfter: Math.floor(random() * 11) };
    return { ok: true };
  }

  /** The peer's INVITE with this CSeq is being handled. */
  beginIncoming(seq: number): void {
    this.#incoming = seq;
  }

  /** Our answer to the peer's INVITE is final (and, for a 2xx carrying an offer, acknowledged). */
  endIncoming(): void {
    this.#incoming = undefined;
  }

  /** Starts one of ours; false while another INVITE is in progress (the caller waits or gives up). */
  beginOutgoing(): boolean {
    if (this.busy) return false;
    this.#outgoing = true;
    return true;
  }

  endOutgoing(): void {
    this.#outgoing = false;
  }
}

/**
 * How long to wait before retrying a re-INVITE that got 491 (RFC 3261 §14.1): "If the UAC is the
 * owner of the Call-ID of the dialog ID ... T has a randomly chosen value between 2.1 and 4 seconds
 * in units of 10 ms. If the UAC is not the owner of the Call-ID ... T has a randomly chosen value of
 * between 0 and 2 seconds in units of 10 ms." In milliseconds.
 */
export function glareRetryDelay(ownsCallId: boolean, random: () => number = Math.random): number {
  const r = Math.min(Math.max(random(), 0), 0.999_999);
  return ownsCallId ? (210 + Math.floor(r * 191)) * 10 : Math.floor(r * 201) * 10;
}
