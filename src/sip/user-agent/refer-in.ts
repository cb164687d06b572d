import type { TimerHandle } from '../../core/clock.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { reasonPhrase } from '../message/reason-phrases.ts';
import type { ServerTransaction } from '../transaction/transaction-user.ts';
import type { IncomingRefer } from './call-types.ts';
import type { InviteSession } from './invite-session.ts';
import { formatSipfrag } from './sipfrag.ts';

/**
 * A REFER from the peer (RFC 3515 §2.4): 202, a first NOTIFY (100 Trying) for the implicit
 * subscription, then `onRefer` listeners report the referred call through `notify()`. Refused with
 * 405 unless `acceptRefer` is on, 403 when nobody listens, 400 without exactly one Refer-To.
 */
export function handleRefer(s: InviteSession, tx: ServerTransaction, request: SipMessage): void {
  const settings = s.services.settings;
  if (!settings.acceptRefer) {
    s.respond(tx, 405, { headers: [['Allow', settings.allow.join(', ')]] });
    return;
  }
  if (s.referListeners === 0) {
    s.respond(tx, 403, { reason: 'Forbidden - Transfer Not Accepted' });
    return;
  }
  const referTo = request.parsed('refer-to');
  if (referTo === undefined || !referTo.ok || request.lines('refer-to').length !== 1) {
    // RFC 3515 §2.4.1: "A REFER request MUST contain exactly one Refer-To header field value."
    s.respond(tx, 400, { reason: 'Bad Request - Need Exactly One Refer-To' });
    return;
  }
  s.respond(tx, 202, { contact: s.localContact });
  const referredBy = request.parsed('referred-by');
  const subscription = new ReferSubscription(s, referTo.value.uri.toString(), referredBy?.ok === true ? referredBy.value.uri.toString() : undefined);
  subscription.start();
  s.emitRefer(subscription);
}

class ReferSubscription implements IncomingRefer {
  readonly target: string;
  readonly referredBy: string | undefined;
  readonly #s: InviteSession;
  #done = false;
  /** NOTIFYs go one after the other, so the peer never sees the final one overtake a progress one. */
  #queue: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #removeCleanup: (() => void) | undefined;

  constructor(s: InviteSession, target: string, referredBy: string | undefined) {
    this.#s = s;
    this.target = target;
    this.referredBy = referredBy;
  }

  start(): void {
    const s = this.#s;
    // RFC 3515 §2.4.4: the REFER-Recipient "MUST" send a NOTIFY at once; 100 Trying until there is news.
    void this.#send(100, 'Trying', false);
    this.#timer = s.services.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.notify(408, 'Request Timeout');
    }, s.services.settings.referReportTimeoutMs);
    this.#removeCleanup = s.onCleanup(() => this.#stop());
  }

  async notify(status: number, reason?: string): Promise<void> {
    if (this.#done || this.#s.state === 'ended') return;
    const code = Number.isInteger(status) && status >= 100 && status <= 699 ? status : 500;
    const final = code >= 200;
    if (final) this.#stop();
    await this.#send(code, reason ?? reasonPhrase(code), final);
  }

  #send(status: number, reason: string, final: boolean): Promise<void> {
    this.#queue = this.#queue.then(() => this.#sendNow(status, reason, final));
    return this.#queue;
  }

  async #sendNow(status: number, reason: string, final: boolean): Promise<void> {
    if (this.#s.state === 'ended') return;
    await this.#s.sendInDialog('NOTIFY', {
      headers: [
        ['Event', 'refer'],
        ['Subscription-State', final ? 'terminated;reason=noresource' : 'active;expires=60'],
      ],
      body: formatSipfrag(status, reason),
      contentType: 'message/sipfrag;version=2.0',
    });
  }

  #stop(): void {
    this.#done = true;
    if (this.#timer !== undefined) this.#s.services.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#removeCleanup?.();
  }
}
