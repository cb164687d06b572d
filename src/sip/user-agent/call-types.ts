import type { SipMessage } from '../message/sip-message.ts';
import type { NegotiatedAudio } from '../sdp/negotiate.ts';
import type { TransportProtocol } from '../transport/transport.ts';
import type { Unsubscribe } from '../../core/listeners.ts';
import type { SipMediaEndpoint } from './media-endpoint.ts';

/**
 * Lifecycle of a call: `ringing` (inbound, not answered yet), `calling` (outbound, no answer yet),
 * `answering` (our 2xx sent, its ACK not yet in), `active`, `ended`.
 */
export type SipCallState = 'ringing' | 'calling' | 'answering' | 'active' | 'ended';

/** Why a call ended. */
export type CallEndReason = 'local-bye' | 'remote-bye' | 'cancel' | 'rejected' | 'timeout' | 'error';

export interface CallEnd {
  readonly reason: CallEndReason;
  /** The SIP status involved: the rejection sent or received, 487 for a cancel, 408 for a timeout. */
  readonly status?: number;
  /** Set when the call ended because a transfer (REFER) we made succeeded. */
  readonly transferredTo?: string;
}

/** A DTMF key received at the SIP level (INFO). RFC 4733 events arrive through the media layer. */
export interface DtmfEvent {
  readonly digit: string;
  readonly durationMs: number | undefined;
  readonly source: 'info';
}

/** Outcome of `SipCall.transfer`: the final status the transferee reported (or why there is none). */
export interface TransferResult {
  readonly ok: boolean;
  readonly status: number;
}

/** A REFER received from the peer (RFC 3515), already accepted with 202. */
export interface IncomingRefer {
  /** The Refer-To URI (what to call). */
  readonly target: string;
  readonly referredBy: string | undefined;
  /**
   * Reports the progress of the referred call to the peer in a NOTIFY (sipfrag status line); a
   * final status (>= 200) ends the implicit subscription. Without a final report within the refer
   * timeout the user agent reports 408 itself.
   */
  notify(status: number, reason?: string): Promise<void>;
}

/** Where the call's signalling peer is (the source of the INVITE, or the dialled next hop). */
export interface SipPeer {
  readonly transport: TransportProtocol;
  readonly address: string;
  readonly port: number;
}

/**
 * One call, inbound or outbound. Methods never throw synchronously; the promises reject with a
 * `SipUserAgentError` when the operation cannot be done. Events are typed listener sets: each
 * `onX` returns a function that removes the listener.
 */
export interface SipCall {
  /** The Call-ID. */
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly state: SipCallState;
  /** From URI of the INVITE (the caller for inbound calls). */
  readonly from: string;
  /** To URI of the INVITE. */
  readonly to: string;
  readonly peer: SipPeer;
  /** The trunk an inbound call came through (undefined with `unknownSource: allow`, and outbound). */
  readonly trunk: string | undefined;
  /** The initial INVITE (read-only use: custom headers, the Request-URI). */
  readonly invite: SipMessage;
  /** The stream agreed last; undefined before offer/answer completes. */
  readonly audio: NegotiatedAudio | undefined;
  readonly media: SipMediaEndpoint;
  /** Whether the peer currently holds us. */
  readonly held: boolean;
  /** Resolves once, when the call ends. */
  readonly ended: Promise<CallEnd>;

  /**
   * Inbound: sends 200 with our SDP answer (or our offer when the INVITE had none, the answer then
   * comes in the ACK) and resolves when the ACK arrives.
   */
  answer(): Promise<void>;
  /** Inbound, before answering: a final 3xx-6xx response; the call ends with reason 'rejected'. */
  reject(status: number, reason?: string): void;
  /** Ends the call: BYE when established, CANCEL (outbound) or 603 (inbound) before. */
  hangup(): Promise<void>;
  /** Blind transfer (REFER in the dialog, RFC 3515), following NOTIFYs; BYE once it succeeded. */
  transfer(target: string, options?: { readonly timeoutMs?: number }): Promise<TransferResult>;
  /** Sends each key in an INFO (application/dtmf-relay), one after the other. */
  sendInfoDtmf(digits: string, options?: { readonly durationMs?: number }): Promise<void>;
  /** re-INVITE putting the peer on hold (a=sendonly) / taking it off (a=sendrecv); 491 glare is retried. */
  hold(): Promise<void>;
  resume(): Promise<void>;

  onDtmf(fn: (event: DtmfEvent) => void): Unsubscribe;
  /** The peer put us on hold (re-INVITE/UPDATE with sendonly, inactive or c=0.0.0.0). */
  onHold(fn: () => void): Unsubscribe;
  onResume(fn: () => void): Unsubscribe;
  /** The agreed stream changed (also the first agreement); the endpoint was already configured. */
  onMediaChange(fn: (audio: NegotiatedAudio) => void): Unsubscribe;
  /** The call ended; called at once (asynchronously) when it already has. */
  onEnded(fn: (end: CallEnd) => void): Unsubscribe;
  /** The peer sent a REFER (only with `acceptRefer`). */
  onRefer(fn: (refer: IncomingRefer) => void): Unsubscribe;
}
