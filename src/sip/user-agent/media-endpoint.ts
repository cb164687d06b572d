import type { NegotiatedAudio } from '../sdp/negotiate.ts';

/**
 * One call's media, as the user agent sees it: an address and port to put in SDP, and a way to
 * start or change the RTP flow once offer/answer settles. The user agent knows nothing else of
 * audio; the lead implements this over RTP sessions in src/transports/sip/.
 */
export interface SipMediaEndpoint {
  /** Address placed in our SDP c= line (an IP literal). */
  readonly address: string;
  /** Local RTP port placed in our SDP m= line. */
  readonly port: number;
  /** Start or change media after each completed offer/answer (also hold: direction, c=0.0.0.0). */
  configure(audio: NegotiatedAudio): void;
  /** Release the port and stop media; called exactly once when the call ends. */
  close(): void;
}

/** Allocates media for new calls (inbound INVITE, outbound dial). */
export interface SipMediaFactory {
  /**
   * Throws (or rejects with) a CallroomError, e.g. ports exhausted: an inbound INVITE is then
   * answered 503. May be asynchronous (binding a socket is); the INVITE waits for it.
   */
  allocate(callId: string): SipMediaEndpoint | Promise<SipMediaEndpoint>;
}
