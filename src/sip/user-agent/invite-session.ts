import { callLogger, type Logger } from '../../core/logger.ts';
import type { Dialog, InDialogRequestOptions } from '../dialog/dialog.ts';
import { ReinviteGuard } from '../dialog/reinvite-guard.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { Direction, NegotiatedAudio } from '../sdp/negotiate.ts';
import type { ServerTransaction } from '../transaction/transaction-user.ts';
import type { Destination } from '../transport/transport.ts';
import type { CallEnd, CallEndReason, DtmfEvent, IncomingRefer, SipCall, SipCallState, SipPeer, TransferResult } from './call-types.ts';
import type { CallMedia } from './call-media.ts';
import type { CallServices } from './call-services.ts';
import { sendNonInvite, type ClientOutcome } from './client-request.ts';
import { SipUserAgentError } from './errors.ts';
import { formatInfoDtmf, isDtmfString } from './info-dtmf.ts';
import { handleInDialogRequest } from './in-dialog.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { SipMediaEndpoint } from './media-endpoint.ts';
import { buildResponse, type ResponseOptions } from './responses.ts';
import { sendReinvite } from './session-update.ts';
import { TransferOut } from './transfer-out.ts';

/** How a call started. */
export interface InviteSessionInit {
  readonly services: CallServices;
  readonly direction: 'inbound' | 'outbound';
  readonly invite: SipMessage;
  readonly peer: SipPeer;
  readonly trunk: string | undefined;
  readonly media: CallMedia;
  /** Our Contact header value for this call. */
  readonly localContact: string;
}

/** A 2xx of ours waiting for its ACK (§13.3.1.4): the first answer or a re-INVITE's. */
export interface AwaitingAck {
  readonly seq: number;
  /** Our 2xx carried the offer: the ACK brings the answer (§13.2.1). */
  readonly lateOffer: boolean;
  readonly localDirection: Direction;
  /** The ACK arrived (true), or did not / brought an unusable answer (false, with why). */
  readonly settle: (acked: boolean, error?: Error) => void;
}

/** Something answer()/hangup() hooks into the initial INVITE, inbound or outbound. */
export interface InitialInvite {
  answer(): Promise<void>;
  reject(status: number, reason?: string): void;
  /** hangup() before the call is established. */
  abandon(): Promise<void>;
  /** Inbound: a final non-2xx to the INVITE if none was sent yet, without ending the call (BYE in an early dialog). */
  finalize(status: number): void;
  /** The call ended: settle what is pending. */
  ended(): void;
}

/**
 * One call: the public `SipCall` and its state (dialog, media, pending ACK, events). The protocol
 * lives beside it: requests inside the dialog in in-dialog.ts, re-INVITE/UPDATE in
 * session-update.ts, REFER in refer-in.ts / transfer-out.ts, the initial INVITE in uas-invite.ts /
 * uac-invite.ts. Members marked @internal are for those modules and the
 * user agent core.
 */
export class InviteSession implements SipCall {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly invite: SipMessage;
  readonly peer: SipPeer;
  readonly trunk: string | undefined;
  readonly from: string;
  readonly to: string;
  readonly ended: Promise<CallEnd>;
  /** @internal */ readonly services: CallServices;
  /** @internal */ readonly callMedia: CallMedia;
  /** @internal */ readonly guard = new ReinviteGuard();
  /** @internal */ readonly log: Logger;
  /** @internal */ readonly localContact: string;
  /** @internal The confirmed (or, before that, first early) dialog. */ dialog: Dialog | undefined;
  /** @internal */ initial: InitialInvite | undefined;
  /** @internal */ awaitingAck: AwaitingAck | undefined;
  /** @internal The ACK of our last 2xx-acknowledged INVITE, resent when its 2xx is (§13.2.2.4). */
  lastAck: { readonly seq: number; readonly ack: SipMessage; readonly destination: Destination } | undefined;
  /** @internal */ transferOut: TransferOut | undefined;
  /** @internal Our media direction: sendonly while we hold the peer. */ localDirection: Direction = 'sendrecv';
  readonly #events = {
    dtmf: new Listeners<DtmfEvent>((e) => this.#listenerError(e)),
    hold: new Listeners<void>((e) => this.#listenerError(e)),
    resume: new Listeners<void>((e) => this.#listenerError(e)),
    media: new Listeners<NegotiatedAudio>((e) => this.#listenerError(e)),
    ended: new Listeners<CallEnd>((e) => this.#listenerError(e)),
    refer: new Listeners<IncomingRefer>((e) => this.#listenerError(e)),
  };
  readonly #cleanups = new Set<() => void>();
  #state: SipCallState;
  #end: CallEnd | undefined;
  #resolveEnded: (end: CallEnd) => void = () => undefined;

  constructor(init: InviteSessionInit) {
    this.services = init.services;
    this.direction = init.direction;
    this.invite = init.invite;
    this.id = init.invite.callId ?? '';
    this.peer = init.peer;
    this.trunk = init.trunk;
    this.callMedia = init.media;
    this.localContact = init.localContact;
    this.from = init.invite.from?.uri.toString() ?? '';
    this.to = init.invite.to?.uri.toString() ?? '';
    this.#state = init.direction === 'inbound' ? 'ringing' : 'calling';
    this.log = callLogger(init.services.logger, this.id);
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
  }

  get state(): SipCallState {
    return this.#state;
  }

  get audio(): NegotiatedAudio | undefined {
    return this.callMedia.audio;
  }

  get media(): SipMediaEndpoint {
    return this.callMedia.endpoint;
  }

  get held(): boolean {
    return this.callMedia.held;
  }

  // ---- public API ----------------------------------------------------------------------------

  answer(): Promise<void> {
    if (this.direction !== 'inbound' || this.#state !== 'ringing' || this.initial === undefined) {
      return Promise.reject(this.#stateError('answer'));
    }
    return this.initial.answer();
  }

  reject(status: number, reason?: string): void {
    if (this.direction !== 'inbound' || this.#state !== 'ringing' || this.initial === undefined) return;
    this.initial.reject(status, reason);
  }

  async hangup(): Promise<void> {
    switch (this.#state) {
      case 'ended':
        return;
      case 'ringing':
      case 'calling':
      case 'answering':
        await this.initial?.abandon();
        return;
      case 'active':
        await this.bye('local-bye');
        return;
    }
  }

  transfer(target: string, options: { readonly timeoutMs?: number } = {}): Promise<TransferResult> {
    if (this.#state !== 'active') return Promise.reject(this.#stateError('transfer'));
    if (this.transferOut !== undefined) return Promise.reject(new SipUserAgentError('CR_SIP_CALL_BUSY', 'a transfer is already in progress'));
    const t = new TransferOut(this, target, options.timeoutMs ?? this.services.settings.transferTimeoutMs);
    this.transferOut = t;
    return t.run().finally(() => {
      if (this.transferOut === t) this.transferOut = undefined;
    });
  }

  async sendInfoDtmf(digits: string, options: { readonly durationMs?: number } = {}): Promise<void> {
    if (!isDtmfString(digits)) throw new SipUserAgentError('CR_SIP_BAD_TARGET', 'DTMF digits must be 0-9, *, #, A-D');
    for (const digit of digits) {
      if (this.#state !== 'active') throw this.#stateError('sendInfoDtmf');
      const outcome = await this.sendInDialog('INFO', {
        body: formatInfoDtmf(digit, options.durationMs ?? 160),
        contentType: 'application/dtmf-relay',
      });
      requireSuccess(outcome, 'INFO');
    }
  }

  hold(): Promise<void> {
    if (this.#state !== 'active') return Promise.reject(this.#stateError('hold'));
    return sendReinvite(this, 'sendonly');
  }

  resume(): Promise<void> {
    if (this.#state !== 'active') return Promise.reject(this.#stateError('resume'));
    return sendReinvite(this, 'sendrecv');
  }

  onDtmf(fn: (event: DtmfEvent) => void): Unsubscribe {
    return this.#events.dtmf.add(fn);
  }

  onHold(fn: () => void): Unsubscribe {
    return this.#events.hold.add(fn);
  }

  onResume(fn: () => void): Unsubscribe {
    return this.#events.resume.add(fn);
  }

  onMediaChange(fn: (audio: NegotiatedAudio) => void): Unsubscribe {
    return this.#events.media.add(fn);
  }

  onEnded(fn: (end: CallEnd) => void): Unsubscribe {
    const end = this.#end;
    if (end !== undefined) {
      let active = true;
      queueMicrotask(() => {
        if (active) fn(end);
      });
      return () => {
        active = false;
      };
    }
    return this.#events.ended.add(fn);
  }

  onRefer(fn: (refer: IncomingRefer) => void): Unsubscribe {
    return this.#events.refer.add(fn);
  }

  // ---- internal: state, media, end ----------------------------------------------------------

  /** @internal */
  setState(state: Exclude<SipCallState, 'ended'>): void {
    if (this.#state !== 'ended') this.#state = state;
  }

  /** @internal Makes `dialog` the call's dialog and routes its requests here; false when the table is full. */
  adoptDialog(dialog: Dialog): boolean {
    if (!this.services.bind(dialog, this)) return false;
    this.dialog = dialog;
    return true;
  }

  /** @internal Runs `fn` when the call ends (timers, pending promises). Returns a remover. */
  onCleanup(fn: () => void): () => void {
    this.#cleanups.add(fn);
    return () => this.#cleanups.delete(fn);
  }

  /** @internal Listener counts, so REFER can be refused when nobody would act on it. */
  get referListeners(): number {
    return this.#events.refer.size;
  }

  /** @internal */
  emitRefer(refer: IncomingRefer): void {
    this.#events.refer.emit(refer);
  }

  /** @internal */
  emitDtmf(event: DtmfEvent): void {
    this.#events.dtmf.emit(event);
  }

  /** @internal A completed offer/answer: configure media and report what changed. */
  applyAudio(audio: NegotiatedAudio, localDirection: Direction = 'sendrecv'): void {
    if (this.#state === 'ended') return;
    const change = this.callMedia.apply(audio, localDirection);
    if (change.changed) this.#events.media.emit(audio);
    if (!change.heldBefore && change.heldNow) this.#events.hold.emit();
    else if (change.heldBefore && !change.heldNow) this.#events.resume.emit();
  }

  /** @internal Ends the call once: releases the dialog and media, settles what is pending, emits onEnded. */
  end(reason: CallEndReason, status?: number, transferredTo?: string): void {
    if (this.#end !== undefined) return;
    const end: CallEnd = {
      reason,
      ...(status === undefined ? {} : { status }),
      ...(transferredTo === undefined ? {} : { transferredTo }),
    };
    this.#end = end;
    this.#state = 'ended';
    this.dialog?.terminate();
    this.services.release(this);
    this.callMedia.close();
    this.initial?.ended();
    const pending = this.awaitingAck;
    this.awaitingAck = undefined;
    pending?.settle(false, new SipUserAgentError('CR_SIP_CALL_STATE', `call ended (${reason}) before the ACK`));
    for (const fn of [...this.#cleanups]) {
      try {
        fn();
      } catch (err) {
        this.#listenerError(err);
      }
    }
    this.#cleanups.clear();
    this.log.info({ reason, status }, 'sip call ended');
    this.#resolveEnded(end);
    this.#events.ended.emit(end);
  }

  /** @internal Sends BYE (when there is a dialog) and ends the call; resolves when the BYE completes. */
  async bye(reason: CallEndReason, status?: number, transferredTo?: string): Promise<void> {
    if (this.#end !== undefined) return;
    const sending = this.dialog === undefined ? undefined : this.sendInDialog('BYE');
    this.end(reason, status, transferredTo);
    if (sending !== undefined) {
      const outcome = await sending;
      // The call is over for us either way; a BYE that could not go out leaves the peer's leg up: say so.
      if (outcome.kind === 'failed') this.log.warn({ err: outcome.error.message }, 'BYE could not be sent');
    }
  }

  // ---- internal: sending ---------------------------------------------------------------------

  /** @internal A non-INVITE request in the dialog (BYE, INFO, REFER, NOTIFY, UPDATE). Never rejects. */
  sendInDialog(method: string, options: InDialogRequestOptions = {}): Promise<ClientOutcome> {
    const dialog = this.dialog;
    if (dialog === undefined) return Promise.resolve({ kind: 'failed', error: this.#stateError(method) });
    const request = dialog.createRequest(method, { ...options, headers: [['User-Agent', this.services.settings.userAgent], ...(options.headers ?? [])] });
    const route = dialog.destinationFor(request);
    if (!route.ok) return Promise.resolve({ kind: 'failed', error: route.error });
    return sendNonInvite(this.services.layer, request, route.destination, { signal: this.services.signal });
  }

  /** @internal Sends an ACK for a 2xx (outside any transaction) and keeps it for 2xx retransmissions. */
  sendAck(seq: number, ack: SipMessage, destination: Destination): void {
    this.lastAck = { seq, ack, destination };
    void this.services.layer.sendStateless(ack, destination);
  }

  /** @internal A 2xx to one of our INVITEs came again (our ACK was lost): send the ACK again. */
  resendAck(response: SipMessage): boolean {
    const last = this.lastAck;
    if (last === undefined || response.cseq?.seq !== last.seq) return false;
    void this.services.layer.sendStateless(last.ack, last.destination);
    return true;
  }

  /** @internal A response through `tx` with our Server header (and Contact when asked). */
  respond(tx: ServerTransaction, status: number, options: ResponseOptions = {}): boolean {
    return tx.respond(buildResponse(tx.request, status, { server: this.services.settings.userAgent, ...options }));
  }

  // ---- internal: what arrives in the dialog ---------------------------------------------------

  /** @internal A request that matched one of this call's dialogs (already checked by `checkUasRequest`). */
  handleRequest(tx: ServerTransaction, request: SipMessage): void {
    handleInDialogRequest(this, tx, request);
  }

  /** @internal An ACK for one of our 2xx responses in this dialog. */
  handleAck(ack: SipMessage): void {
    const waiting = this.awaitingAck;
    if (waiting === undefined || ack.cseq?.seq !== waiting.seq) return;
    this.awaitingAck = undefined;
    if (waiting.lateOffer) {
      const answer = ack.body.length > 0 ? this.callMedia.acceptAnswer(ack.body, waiting.localDirection) : { ok: false as const, reason: 'ACK without SDP answer' };
      if (!answer.ok) {
        // §13.3.1.4 leaves a bad answer in an ACK to the session: end it with a BYE.
        this.log.warn({ why: answer.reason }, 'sip unusable answer in ACK');
        waiting.settle(false, new SipUserAgentError('CR_SIP_REQUEST_FAILED', `unusable answer in ACK: ${answer.reason}`, { status: 488 }));
        void this.bye('error', 488);
        return;
      }
      this.applyAudio(answer.audio, waiting.localDirection);
    }
    waiting.settle(true);
  }

  #stateError(what: string): SipUserAgentError {
    return new SipUserAgentError('CR_SIP_CALL_STATE', `cannot ${what} a call that is ${this.#state}`);
  }

  #listenerError(err: unknown): void {
    this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'sip call listener threw');
  }
}

/** Throws a SipUserAgentError unless the outcome is a 2xx. */
export function requireSuccess(outcome: ClientOutcome, method: string): void {
  if (outcome.kind === 'final' && outcome.response.status < 300) return;
  const status = outcome.kind === 'final' ? outcome.response.status : outcome.kind === 'timeout' ? 408 : 503;
  throw new SipUserAgentError('CR_SIP_REQUEST_FAILED', `${method} failed with ${status}`, { status, cause: outcome.kind === 'failed' ? outcome.error : undefined });
}
