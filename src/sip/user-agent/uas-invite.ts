import type { TimerHandle } from '../../core/clock.ts';
import { TimeoutError } from '../../core/errors.ts';
import { Dialog } from '../dialog/dialog.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { NegotiatedAudio } from '../sdp/negotiate.ts';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.ts';
import type { InviteSession, InitialInvite } from './invite-session.ts';
import { SUPPORTED_OPTIONS } from './capabilities.ts';
import { SipUserAgentError } from './errors.ts';
import { buildResponse } from './responses.ts';

/** Our answer to the INVITE's offer, worked out when it arrived (488 goes out before ringing). */
export interface PreparedAnswer {
  readonly body: string;
  readonly audio: NegotiatedAudio;
}

/**
 * The UAS side of an inbound INVITE (RFC 3261 §13.3): the early dialog, 180/183, the 2xx (with our
 * answer, or our offer when the INVITE had none, §13.2.1) retransmitted by the transaction layer
 * until the ACK, reject, CANCEL (487), and the ring timeout.
 */
export class UasInvite implements InitialInvite {
  readonly tx: InviteServerTransaction;
  readonly localTag: string;
  readonly #s: InviteSession;
  readonly #prepared: PreparedAnswer | undefined;
  #final = false;
  #ringTimer: TimerHandle | undefined;
  #hangupAfterAck = false;

  constructor(session: InviteSession, tx: InviteServerTransaction, localTag: string, prepared: PreparedAnswer | undefined) {
    this.#s = session;
    this.tx = tx;
    this.localTag = localTag;
    this.#prepared = prepared;
  }

  /** Creates the early dialog and rings. False when the dialog table is full (the caller answers 503). */
  start(): boolean {
    const s = this.#s;
    const source = this.tx.source;
    const dialog = Dialog.forUas(this.tx.request, {
      localTag: this.localTag,
      localContact: s.localContact,
      flow: {
        transport: source.transport,
        remoteAddress: source.remote.address,
        remotePort: source.remote.port,
        ...(source.connectionId === undefined ? {} : { connectionId: source.connectionId }),
      },
      state: 'early',
    });
    if (!s.adoptDialog(dialog)) return false;
    const settings = s.services.settings;
    const prepared = this.#prepared;
    if (settings.earlyMedia && prepared !== undefined) {
      // 183 with the answer: media starts before the call is answered (RFC 3960 early media).
      this.#provisional(183, prepared.body);
      s.applyAudio(prepared.audio);
    } else if (settings.ringing) {
      this.#provisional(180);
    }
    this.#ringTimer = s.services.clock.setTimeout(() => {
      this.#ringTimer = undefined;
      if (this.#respondFinal(480)) s.end('timeout', 480);
    }, settings.ringTimeoutMs);
    return true;
  }

  answer(): Promise<void> {
    const s = this.#s;
    if (this.#final) return Promise.reject(new SipUserAgentError('CR_SIP_CALL_STATE', 'the INVITE was already answered'));
    const prepared = this.#prepared;
    const lateOffer = prepared === undefined;
    const body = prepared?.body ?? s.callMedia.offer(s.localDirection);
    const seq = this.tx.request.cseq?.seq ?? 0;
    const settings = s.services.settings;
    const response = this.#response(200, body);
    response.append('Allow', settings.allow.join(', '));
    response.append('Supported', SUPPORTED_OPTIONS.join(', '));
    // RFC 6026 / §13.3.1.4: the layer retransmits the 2xx until the ACK, and tells us after 64*T1.
    if (!s.services.layer.sendInvite2xx(this.tx, response, () => this.#noAck(seq))) {
      return Promise.reject(new SipUserAgentError('CR_SIP_CALL_STATE', 'the INVITE transaction no longer takes a 2xx'));
    }
    this.#final = true;
    this.#stopRinging();
    s.dialog?.confirm();
    s.setState('answering');
    if (prepared !== undefined) s.applyAudio(prepared.audio);
    return new Promise((resolve, reject) => {
      s.awaitingAck = {
        seq,
        lateOffer,
        localDirection: s.localDirection,
        settle: (acked, error) => {
          if (!acked) {
            reject(error ?? new SipUserAgentError('CR_SIP_CALL_STATE', 'no ACK'));
            return;
          }
          s.setState('active');
          resolve();
          if (this.#hangupAfterAck) void s.bye('local-bye');
        },
      };
    });
  }

  reject(status: number, reason?: string): void {
    const code = Number.isInteger(status) && status >= 300 && status <= 699 ? status : 500;
    if (this.#respondFinal(code, reason)) this.#s.end(code === 487 ? 'cancel' : 'rejected', code);
  }

  /** A CANCEL matched the INVITE (§9.2): 487 and the call ends with reason 'cancel'. */
  cancel(): void {
    if (this.#respondFinal(487)) this.#s.end('cancel', 487);
  }

  finalize(status: number): void {
    this.#respondFinal(status);
  }

  async abandon(): Promise<void> {
    const s = this.#s;
    if (!this.#final) {
      this.reject(603);
      return;
    }
    // §15: "the callee's UA MUST NOT send a BYE on a confirmed dialog until it has received an ACK
    // for its 2xx response or until the server transaction times out."
    this.#hangupAfterAck = true;
    await s.ended;
  }

  ended(): void {
    this.#stopRinging();
    // Every INVITE gets a final response, even when the call ends some other way (close()).
    this.#respondFinal(500);
  }

  #noAck(seq: number): void {
    const s = this.#s;
    const waiting = s.awaitingAck;
    if (waiting === undefined || waiting.seq !== seq) return;
    s.awaitingAck = undefined;
    waiting.settle(false, new TimeoutError('no ACK for the 2xx within 64*T1'));
    // §13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds without receiving an
    // ACK, the dialog is confirmed, but the session SHOULD be terminated. This is accomplished with a BYE".
    void s.bye('timeout', 408);
  }

  #respondFinal(status: number, reason?: string): boolean {
    if (this.#final) return false;
    this.#final = true;
    this.#stopRinging();
    this.#s.respond(this.tx, status, { toTag: this.localTag, ...(reason === undefined ? {} : { reason }) });
    return true;
  }

  #provisional(status: 180 | 183, sdp?: string): void {
    this.tx.respond(this.#response(status, sdp));
  }

  /** A dialog-creating response (§12.1.1): our tag, Contact, Record-Route copied. */
  #response(status: number, sdp: string | undefined): SipMessage {
    const s = this.#s;
    return buildResponse(this.tx.request, status, {
      toTag: this.localTag,
      recordRoute: true,
      contact: s.localContact,
      server: s.services.settings.userAgent,
      ...(sdp === undefined ? {} : { body: { type: 'application/sdp', text: sdp } }),
    });
  }

  #stopRinging(): void {
    if (this.#ringTimer === undefined) return;
    this.#s.services.clock.clearTimeout(this.#ringTimer);
    this.#ringTimer = undefined;
  }
}
