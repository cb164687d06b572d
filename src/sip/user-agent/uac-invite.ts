import type { TimerHandle } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import type { DigestCredentials } from '../auth/digest.ts';
import { Dialog, type DialogFlow } from '../dialog/dialog.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { NegotiatedAudio } from '../sdp/negotiate.ts';
import { buildCancel } from '../transaction/build-cancel.ts';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.ts';
import type { ClientTransaction, ClientTransactionUser } from '../transaction/transaction-user.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import type { Destination, TransportProtocol } from '../transport/transport.ts';
import type { CallEndReason } from './call-types.ts';
import type { InviteSession, InitialInvite } from './invite-session.ts';
import { sendNonInvite } from './client-request.ts';
import { DigestClient, retryRequest } from './digest-client.ts';
import { SipUserAgentError } from './errors.ts';

/** An outbound call. */
export interface DialOptions {
  /** `sip:` URI whose host is an IP literal, e.g. `sip:user@127.0.0.1:5070` (a host name is refused). */
  readonly target: string;
  /** From address (URI or name-addr); default `sip:callroom@<our host>`. */
  readonly from?: string;
  /** Answer 401/407 challenges with these (MD5 or SHA-256, qop=auth). */
  readonly credentials?: DigestCredentials;
  /** Extra headers on the INVITE. */
  readonly headers?: readonly (readonly [string, string])[];
  /** Default: the target's `transport` parameter, else UDP. */
  readonly transport?: TransportProtocol;
  /** Aborting before the answer CANCELs the call. */
  readonly signal?: AbortSignal;
  /** CANCEL when not answered within this (default 60 s). */
  readonly timeoutMs?: number;
  /** Each provisional response (180, 183...). */
  readonly onProgress?: (status: number, reason: string) => void;
}

/**
 * The UAC side of an outbound INVITE (RFC 3261 §13.2): early dialogs from 1xx with a To tag,
 * digest retries on 401/407, the ACK for the 2xx built by the core (§13.2.2.4) and resent for
 * each retransmitted 2xx, ACK+BYE for a second fork's 2xx, CANCEL (§9.1, only after a provisional)
 * on hangup, abort or timeout.
 */
export class UacInvite implements InitialInvite, ClientTransactionUser {
  readonly #s: InviteSession;
  readonly #flow: DialogFlow;
  readonly #options: DialOptions;
  readonly #digest: DigestClient | undefined;
  readonly #early = new Map<string, Dialog>();
  #request: SipMessage;
  #destination: Destination;
  #tx: InviteClientTransaction | undefined;
  #provisional = false;
  #abandoned = false;
  #cancelSent = false;
  #confirmedTag: string | undefined;
  /** The answer a 183 carried (RFC 3960 early media), used when the 2xx repeats none. */
  #earlyAnswer: NegotiatedAudio | undefined;
  #timer: TimerHandle | undefined;
  #pending: { resolve: () => void; reject: (err: Error) => void } | undefined;
  readonly #onAbort = (): void => this.#abandon(487, 'cancel', new AbortedError('dial aborted'));

  constructor(session: InviteSession, invite: SipMessage, destination: Destination, options: DialOptions) {
    this.#s = session;
    this.#request = invite;
    this.#destination = destination;
    this.#options = options;
    this.#flow = { transport: destination.transport, remoteAddress: destination.address, remotePort: destination.port };
    this.#digest = options.credentials === undefined ? undefined : new DigestClient(options.credentials);
  }

  /** Sends the INVITE; resolves once answered and acknowledged, rejects when it fails. */
  start(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
    const signal = this.#options.signal;
    if (signal?.aborted === true) {
      this.#abandon(487, 'cancel', new AbortedError('dial aborted'));
      return promise;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    const timeoutMs = this.#options.timeoutMs ?? 60_000;
    this.#timer = this.#s.services.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#abandon(408, 'timeout', new SipUserAgentError('CR_SIP_DIAL_FAILED', `no answer within ${timeoutMs} ms`, { status: 408 }));
    }, timeoutMs);
    this.#send();
    return promise;
  }

  onResponse(response: SipMessage, tx: ClientTransaction): void {
    if (response.status < 200) this.#onProvisional(response, tx);
    else if (response.status < 300) this.#on2xx(response);
    else if (tx === this.#tx) this.#onFailure(response);
  }

  onTimeout(tx: ClientTransaction): void {
    if (tx !== this.#tx) return;
    this.#fail(408, this.#abandoned ? 'cancel' : 'timeout', 'no response to the INVITE (Timer B)');
  }

  onTransportError(tx: ClientTransaction, error: SipTransportError): void {
    if (tx !== this.#tx) return;
    this.#fail(503, 'error', `INVITE could not be sent: ${error.message}`);
  }

  answer(): Promise<void> {
    return Promise.reject(new SipUserAgentError('CR_SIP_CALL_STATE', 'an outbound call is answered by the peer'));
  }

  reject(): void {}

  finalize(): void {}

  abandon(): Promise<void> {
    this.#abandon(487, 'cancel', new SipUserAgentError('CR_SIP_DIAL_FAILED', 'call cancelled', { status: 487 }));
    return Promise.resolve();
  }

  ended(): void {
    this.#cleanup();
    if (this.#confirmedTag === undefined && !this.#abandoned) {
      // Ended from outside (close()): CANCEL what is still ringing.
      this.#abandoned = true;
      if (this.#provisional) this.#sendCancel();
    }
    this.#settle(new SipUserAgentError('CR_SIP_DIAL_FAILED', 'the call ended before it was answered'));
  }

  #send(): void {
    try {
      this.#tx = this.#s.services.layer.sendRequest(this.#request, this.#destination, this) as InviteClientTransaction;
    } catch (err) {
      this.#fail(503, 'error', `INVITE could not be sent: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #onProvisional(response: SipMessage, tx: ClientTransaction): void {
    if (tx !== this.#tx) return;
    this.#provisional = true;
    if (this.#abandoned) {
      // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent;
      // rather, the client MUST wait for the arrival of a provisional response before sending".
      if (!this.#cancelSent) this.#sendCancel();
      return;
    }
    const tag = response.to?.tag;
    if (tag !== undefined && !this.#early.has(tag)) {
      // §12.1.2 / §13.2.2.1: a 1xx with a To tag creates an early dialog.
      const dialog = Dialog.forUac(this.#request, response, { localContact: this.#s.localContact, flow: this.#flow });
      this.#early.set(tag, dialog);
      if (this.#s.dialog === undefined) this.#s.adoptDialog(dialog);
      else this.#s.services.bind(dialog, this.#s);
    }
    if (response.body.length > 0 && response.contentType?.mime === 'application/sdp') {
      // Early media (ringback, announcements): the answer comes in a 18x; media starts now.
      const early = this.#s.callMedia.acceptAnswer(response.body);
      if (early.ok) {
        this.#earlyAnswer = early.audio;
        this.#s.applyAudio(early.audio);
      }
    }
    try {
      this.#options.onProgress?.(response.status, response.reason);
    } catch (err) {
      this.#s.log.error({ err: err instanceof Error ? err.message : String(err) }, 'sip onProgress threw');
    }
  }

  #on2xx(response: SipMessage): void {
    const s = this.#s;
    const tag = response.to?.tag ?? '';
    if (this.#confirmedTag !== undefined) {
      // §13.2.2.4: a retransmitted 2xx gets the same ACK again; another fork's 2xx gets ACK + BYE.
      if (tag === this.#confirmedTag) s.resendAck(response);
      else this.#ackAndBye(response);
      return;
    }
    if (this.#abandoned || s.state === 'ended') {
      this.#ackAndBye(response);
      return;
    }
    this.#confirmedTag = tag;
    this.#cleanup();
    let dialog = this.#early.get(tag);
    if (dialog === undefined) dialog = Dialog.forUac(this.#request, response, { localContact: s.localContact, flow: this.#flow });
    else dialog.confirmWith(response);
    for (const [other, d] of this.#early) if (other !== tag) s.services.unbind(d, s);
    if (s.dialog !== dialog && !s.adoptDialog(dialog)) {
      this.#ackAndBye(response);
      this.#fail(503, 'error', 'dialog table full');
      return;
    }
    const seq = this.#request.cseq?.seq ?? 1;
    const ack = dialog.createAck(seq, { headers: [['User-Agent', s.services.settings.userAgent]] });
    const route = dialog.destinationFor(ack);
    if (!route.ok) {
      this.#fail(503, 'error', `cannot route the ACK: ${route.error.message}`);
      return;
    }
    s.sendAck(seq, ack, route.destination);
    const early = this.#earlyAnswer;
    const answer =
      response.body.length > 0
        ? s.callMedia.acceptAnswer(response.body)
        : early !== undefined
          ? { ok: true as const, audio: early }
          : { ok: false as const, reason: 'no SDP answer in the 2xx' };
    if (!answer.ok) {
      this.#settle(new SipUserAgentError('CR_SIP_DIAL_FAILED', `unusable answer: ${answer.reason}`, { status: 488 }));
      void s.bye('error', 488);
      return;
    }
    s.applyAudio(answer.audio);
    s.setState('active');
    this.#settle();
  }

  #onFailure(response: SipMessage): void {
    const status = response.status;
    if ((status === 401 || status === 407) && !this.#abandoned && this.#digest !== undefined) {
      const auth = this.#digest.answer(this.#request, response);
      if (auth !== undefined) {
        // §22.2: the retry is a new request: same Call-ID and From tag, CSeq + 1, new branch.
        this.#request = retryRequest(this.#request, (this.#request.cseq?.seq ?? 1) + 1, auth);
        this.#provisional = false;
        this.#send();
        return;
      }
    }
    this.#fail(status, this.#abandoned ? 'cancel' : 'rejected', `INVITE answered ${status} ${response.reason}`);
  }

  #abandon(status: number, reason: CallEndReason, error: Error): void {
    if (this.#abandoned || this.#confirmedTag !== undefined || this.#s.state === 'ended') return;
    this.#abandoned = true;
    this.#cleanup();
    if (this.#provisional) this.#sendCancel();
    this.#settle(error);
    this.#s.end(reason, status);
  }

  #sendCancel(): void {
    const tx = this.#tx;
    if (tx === undefined) return;
    this.#cancelSent = true;
    // §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via as the INVITE, same destination.
    void sendNonInvite(this.#s.services.layer, buildCancel(tx.request), tx.destination, { signal: this.#s.services.signal });
  }

  /** ACK and BYE a 2xx we do not want (another fork, or after we gave up). */
  #ackAndBye(response: SipMessage): void {
    const s = this.#s;
    let dialog: Dialog;
    try {
      dialog = Dialog.forUac(this.#request, response, { localContact: s.localContact, flow: this.#flow });
    } catch {
      return;
    }
    const ack = dialog.createAck(response.cseq?.seq ?? 1);
    const route = dialog.destinationFor(ack);
    if (!route.ok) return;
    void s.services.layer.sendStateless(ack, route.destination);
    const bye = dialog.createRequest('BYE');
    const byeRoute = dialog.destinationFor(bye);
    if (byeRoute.ok) void sendNonInvite(s.services.layer, bye, byeRoute.destination, { signal: s.services.signal });
  }

  #fail(status: number, reason: CallEndReason, message: string): void {
    this.#settle(new SipUserAgentError('CR_SIP_DIAL_FAILED', message, { status }));
    this.#s.end(reason, status);
  }

  #settle(error?: Error): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    if (error === undefined) pending.resolve();
    else pending.reject(error);
  }

  #cleanup(): void {
    if (this.#timer !== undefined) this.#s.services.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
  }
}
