import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { requestDialogId, responseDialogId } from '../dialog/dialog-id.ts';
import { newTag } from '../message/ids.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.ts';
import type { Admission, ServerTransaction, Transaction, TransactionUser } from '../transaction/transaction-user.ts';
import type { SipTransportError } from '../transport/transport-error.ts';
import { sourceDestination, type MessageSource } from '../transport/transport.ts';
import type { SipCall } from './call-types.ts';
import { CallMedia, checkOffer, type MediaSettings } from './call-media.ts';
import type { CallRegistry } from './call-registry.ts';
import type { CallServices } from './call-services.ts';
import { InviteSession } from './invite-session.ts';
import { addCapabilities } from './capabilities.ts';
import type { Listeners } from '../../core/listeners.ts';
import type { SipMediaFactory } from './media-endpoint.ts';
import { checkUasRequest } from './request-checks.ts';
import { buildResponse, type ResponseOptions } from './responses.ts';
import type { SourcePolicy } from './source-policy.ts';
import type { SourceRateLimitConfig, SourceRateLimiter } from './source-rate-limit.ts';
import { UasInvite } from './uas-invite.ts';

/** Counters of what the router refused or took (metrics, tests). */
export interface SipUserAgentStats {
  inboundCalls: number;
  outboundCalls: number;
  /** INVITEs from unknown sources answered 403. */
  rejectedSources: number;
  /** Requests from unknown sources dropped without a word. */
  droppedSources: number;
  /** INVITEs answered 401 (digest challenge). */
  challenges: number;
  /** INVITEs answered 503 because maxDialogs was reached. */
  overCapacity: number;
  /** INVITEs answered 503 because media could not be allocated. */
  mediaFailures: number;
  /** Requests outside any dialog over their source's rate limit (dropped or answered 503). */
  rateLimited: number;
  /** Requests outside any dialog answered 503 because the user agent was draining. */
  drainRefused: number;
}

/** What the router works with; owned by the user agent. */
export interface RouterDeps {
  readonly services: CallServices;
  readonly registry: CallRegistry;
  readonly policy: SourcePolicy;
  readonly mediaFactory: SipMediaFactory;
  readonly mediaSettings: (local: MessageSource['local']) => MediaSettings;
  readonly callListeners: Listeners<SipCall>;
  readonly stats: SipUserAgentStats;
  readonly logger: Logger;
  /** Our Contact for a request that arrived at `source`. */
  contactFor(source: MessageSource): string;
  closing(): boolean;
  /** Taking no new calls (SIGTERM): new requests, OPTIONS included, get 503 with `retryAfter()` seconds. */
  draining?(): boolean;
  retryAfter?(): number;
  /** Per-source limit on requests outside any dialog. */
  readonly rateLimit?: { readonly limiter: SourceRateLimiter; readonly config: SourceRateLimitConfig };
}

/** Methods that exist only inside a dialog: outside one they name a dialog we do not have. */
const DIALOG_ONLY = new Set(['BYE', 'INFO', 'UPDATE', 'REFER', 'NOTIFY', 'PRACK']);

/**
 * The UA core's TransactionUser (RFC 3261 §8.2, §12.2.2): the source policy for new calls (403,
 * 401 or silence, all stateless), the request checks, dispatch to the call owning the dialog (481
 * when none does), OPTIONS, new inbound calls, ACK, CANCEL and stray 2xx retransmissions.
 */
export class RequestRouter implements TransactionUser {
  readonly #d: RouterDeps;
  /** CANCEL finds the call through its INVITE transaction. */
  readonly #byTx = new WeakMap<InviteServerTransaction, { readonly invite: UasInvite; readonly call: InviteSession }>();

  constructor(deps: RouterDeps) {
    this.#d = deps;
  }

  onRequest(tx: ServerTransaction, request: SipMessage): void {
    const d = this.#d;
    const inDialog = request.to?.tag !== undefined;
    if (d.closing() && !inDialog) {
      this.#respond(tx, 503, { toTag: newTag(), headers: [['Retry-After', '5']] });
      return;
    }
    if (d.draining?.() === true && !inDialog) {
      // A dispatcher (Kamailio) probing with OPTIONS takes the 503 as "down" and sends new calls elsewhere;
      // in-dialog requests of the calls still running pass as usual.
      d.stats.drainRefused++;
      this.#respond(tx, 503, { toTag: newTag(), reason: 'Draining', headers: [['Retry-After', String(d.retryAfter?.() ?? 30)]] });
      return;
    }
    let trunk: string | undefined;
    if (!inDialog && !this.#screen(tx, request, (t) => (trunk = t))) return;
    const problem = checkUasRequest(request, d.services.settings.allow);
    if (problem !== undefined) {
      this.#respond(tx, problem.status, { toTag: newTag(), headers: problem.headers, ...(problem.reason === undefined ? {} : { reason: problem.reason }) });
      return;
    }
    if (inDialog) {
      const id = requestDialogId(request);
      const call = id === undefined ? undefined : d.registry.find(id);
      // §12.2.2: "If the UAS wishes to reject the request because it does not wish to recreate the
      // dialog, it MUST respond to the request with a 481 (Call/Transaction Does Not Exist)".
      if (call === undefined) this.#respond(tx, 481);
      else call.handleRequest(tx, request);
      return;
    }
    if (request.method === 'INVITE' && tx.kind === 'invite-server') this.#onInvite(tx, request, trunk);
    else if (request.method === 'OPTIONS') tx.respond(addCapabilities(this.#response(request, 200, { toTag: newTag() }), d.services.settings.allow));
    else if (DIALOG_ONLY.has(request.method)) this.#respond(tx, 481, { toTag: newTag() });
    else this.#respond(tx, 405, { toTag: newTag(), headers: [['Allow', d.services.settings.allow.join(', ')]] });
  }

  onAck(ack: SipMessage): void {
    const id = requestDialogId(ack);
    if (id !== undefined) this.#d.registry.find(id)?.handleAck(ack);
  }

  onCancel(_cancel: SipMessage, tx: InviteServerTransaction): void {
    const entry = this.#byTx.get(tx);
    if (entry !== undefined) entry.invite.cancel();
    // The 487 carries the tag of the provisional already sent (if any), so it matches the dialog the peer saw.
    else this.#respond(tx, 487, { toTag: tx.lastResponse?.to?.tag ?? newTag() });
  }

  onResponse(): void {
    // Every client transaction here has its own user; nothing reaches the default one.
  }

  onTimeout(tx: Transaction): void {
    this.#d.logger.debug({ kind: tx.kind }, 'sip transaction timed out');
  }

  onTransportError(tx: Transaction, error: SipTransportError): void {
    this.#d.logger.warn({ kind: tx.kind, err: error.message }, 'sip response could not be sent');
    // The INVITE's own responses cannot reach the caller: the call cannot work.
    if (tx.kind === 'invite-server') this.#byTx.get(tx)?.call.end('error', 503);
  }

  onStrayResponse(response: SipMessage): void {
    // RFC 6026 §8.4: a 2xx retransmission after Timer M: our ACK was lost, send it again.
    if (response.status < 200 || response.status >= 300 || response.cseq?.method !== 'INVITE') return;
    const id = responseDialogId(response);
    if (id !== undefined) this.#d.registry.find(id)?.resendAck(response);
  }

  /**
   * Inbound security, before the transaction layer keeps anything for a new request (its `admit`
   * hook): an INVITE from an unknown source is dropped or answered 403 statelessly, and with
   * `unknownSource: drop` so is every other request from outside any dialog. A flood therefore
   * costs no transaction, dialog or media state; a retransmission is simply decided again.
   */
  admit(request: SipMessage, source: MessageSource): Admission {
    const d = this.#d;
    const address = source.remote.address;
    if (request.to?.tag !== undefined) {
      // In-dialog requests of existing dialogs pass (never rate limited); a tagged request for no dialog from a
      // source outside every trunk is refused, statelessly, so it cannot fill the transaction table or be
      // answered 481 repeatedly.
      const id = requestDialogId(request);
      if (id !== undefined && d.registry.find(id) !== undefined) return 'accept';
    }
    const admission = this.#screenSource(request, address);
    // What the source policy lets in is then held to its source's rate: refusals stay as the policy says.
    return admission === 'accept' ? (this.#overRate(address) ?? 'accept') : admission;
  }

  #screenSource(request: SipMessage, address: string): Admission {
    const d = this.#d;
    if (request.to?.tag !== undefined) {
      if (d.policy.isKnownAddress(address)) return 'accept';
      d.stats.rejectedSources++;
      return d.policy.unknownSource === 'allow' ? 'accept' : 'drop';
    }
    if (request.method !== 'INVITE') {
      if (d.policy.unknownSource === 'drop' && !d.policy.isKnownAddress(address)) {
        d.stats.droppedSources++;
        return 'drop';
      }
      return 'accept';
    }
    const decision = d.policy.decide(request, address);
    if (decision.action === 'drop') {
      d.stats.droppedSources++;
      return 'drop';
    }
    if (decision.action === 'reject') {
      d.stats.rejectedSources++;
      return { status: 403 };
    }
    // A challenge needs WWW-Authenticate headers, which an Admission cannot carry: `onRequest`
    // answers it statelessly instead.
    return 'accept';
  }

  /** The admission for a source over its rate (drop, or 503), or undefined when it may go on. */
  #overRate(address: string): Admission | undefined {
    const rl = this.#d.rateLimit;
    if (rl === undefined || !rl.config.enabled) return undefined;
    if (rl.config.exemptTrunks && this.#d.policy.isKnownAddress(address)) return undefined;
    if (rl.limiter.allow(address)) return undefined;
    this.#d.stats.rateLimited++;
    return rl.config.action === 'reject' ? { status: 503, reason: 'Rate Limited' } : 'drop';
  }

  /**
   * The same decision for a new INVITE that reached `onRequest`: the trunk it came through, or
   * false when it was answered (401 challenge, or 403/silence should `admit` not have run) — all
   * stateless, the transaction ended at once.
   */
  #screen(tx: ServerTransaction, request: SipMessage, setTrunk: (trunk: string | undefined) => void): boolean {
    const d = this.#d;
    if (request.method !== 'INVITE') return true;
    const decision = d.policy.decide(request, tx.source.remote.address);
    switch (decision.action) {
      case 'accept':
        setTrunk(decision.trunk);
        return true;
      case 'drop':
        tx.terminate();
        return false;
      case 'reject':
        this.#stateless(tx, this.#response(request, 403, { toTag: newTag() }));
        return false;
      case 'challenge': {
        d.stats.challenges++;
        const res = this.#response(request, 401, { toTag: newTag() });
        for (const c of decision.challenges) res.append('WWW-Authenticate', c);
        this.#stateless(tx, res);
        return false;
      }
    }
  }

  #onInvite(tx: InviteServerTransaction, request: SipMessage, trunk: string | undefined): void {
    const d = this.#d;
    const mergeKey = `${request.callId ?? ''}\n${request.from?.tag ?? ''}\n${request.cseq?.seq ?? 0}`;
    // §8.1.1.8: "The Contact header field MUST be present and contain exactly one SIP or SIPS URI
    // in any request that can result in the establishment of a dialog." Without it there is no
    // remote target for the ACK's dialog or a BYE.
    if (request.contacts.length === 0) {
      this.#respond(tx, 400, { toTag: newTag(), reason: 'Bad Request - Missing Contact' });
      return;
    }
    if (d.registry.full) {
      d.stats.overCapacity++;
      this.#stateless(tx, this.#response(request, 503, { toTag: newTag(), headers: [['Retry-After', '5']] }));
      return;
    }
    const settings = d.mediaSettings(tx.source.local);
    if (request.body.length > 0) {
      const check = checkOffer(request.body, settings);
      if (!check.ok) {
        this.#respond(tx, 488, { toTag: newTag(), reason: check.reason, headers: [['Warning', '304 callroom "Media type not available"']] });
        return;
      }
    }
    if (!d.registry.claimInvite(mergeKey)) {
      // §8.2.2.2: the same INVITE arrived again by another path (a fork that looped back).
      this.#respond(tx, 482, { toTag: newTag() });
      return;
    }
    const callId = request.callId ?? '';
    const release = d.registry.reserve();
    void this.#allocate(callId, settings).then((media) => {
      release();
      if (media === undefined || tx.state !== 'proceeding' || d.closing()) d.registry.dropInvite(mergeKey);
      if (media === undefined) {
        this.#respond(tx, 503, { toTag: newTag(), headers: [['Retry-After', '5']] });
        return;
      }
      // While media was being allocated the INVITE may have been cancelled, or we began closing.
      if (tx.state !== 'proceeding' || d.closing()) {
        media.close();
        if (tx.state === 'proceeding') this.#respond(tx, 503, { toTag: newTag(), headers: [['Retry-After', '5']] });
        return;
      }
      this.#startCall(tx, request, trunk, media, mergeKey);
    });
  }

  async #allocate(callId: string, settings: MediaSettings): Promise<CallMedia | undefined> {
    const d = this.#d;
    try {
      return new CallMedia(await d.mediaFactory.allocate(callId), settings, d.services.random);
    } catch (err) {
      d.stats.mediaFailures++;
      d.logger.warn({ callId, err: errorMessage(err) }, 'sip media allocation failed');
      return undefined;
    }
  }

  #startCall(tx: InviteServerTransaction, request: SipMessage, trunk: string | undefined, media: CallMedia, mergeKey: string): void {
    const d = this.#d;
    const prepared = request.body.length > 0 ? media.answer(request.body) : undefined;
    if (prepared !== undefined && !prepared.ok) {
      media.close();
      d.registry.dropInvite(mergeKey);
      this.#respond(tx, 488, { toTag: newTag(), reason: prepared.reason });
      return;
    }
    const call = new InviteSession({
      services: d.services,
      direction: 'inbound',
      invite: request,
      peer: { transport: tx.source.transport, address: tx.source.remote.address, port: tx.source.remote.port },
      trunk,
      media,
      localContact: d.contactFor(tx.source),
    });
    const invite = new UasInvite(call, tx, newTag(), prepared);
    call.initial = invite;
    d.registry.add(call);
    d.registry.bindInvite(mergeKey, call);
    this.#byTx.set(tx, { invite, call });
    // The INVITE transaction lingers 64*T1 after the answer (RFC 6026 Accepted): let go of the ended call (its
    // session, RTP leg and jitter buffer) at once instead of holding it for that long.
    call.onEnded(() => this.#byTx.delete(tx));
    d.stats.inboundCalls++;
    call.log.info({ trunk, from: call.from, transport: call.peer.transport }, 'sip inbound call');
    if (!invite.start()) {
      invite.reject(503);
      return;
    }
    if (d.callListeners.size === 0) {
      invite.reject(480);
      return;
    }
    d.callListeners.emit(call);
  }

  #response(request: SipMessage, status: number, options: ResponseOptions = {}): SipMessage {
    return buildResponse(request, status, { server: this.#d.services.settings.userAgent, ...options });
  }

  #respond(tx: ServerTransaction, status: number, options: ResponseOptions = {}): void {
    tx.respond(this.#response(tx.request, status, options));
  }

  /** Sends `response` straight back to the request's source and ends the transaction: nothing kept. */
  #stateless(tx: ServerTransaction, response: SipMessage): void {
    void this.#d.services.transport.send(response, sourceDestination(tx.source));
    tx.terminate();
  }
}
