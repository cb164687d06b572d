import type { TimerHandle } from '../../core/clock.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { parseUri } from '../message/uri.ts';
import type { TransferResult } from './call-types.ts';
import type { InviteSession } from './invite-session.ts';
import { SipUserAgentError } from './errors.ts';
import { parseSipfragStatus } from './sipfrag.ts';

/**
 * A blind transfer we make (RFC 3515): REFER in the dialog, then the NOTIFYs of the implicit
 * subscription carry the referred call's progress as sipfrag; the first final status decides.
 * On success the call is ended with a BYE (RFC 5589 §6: the transferor hangs up).
 */
export class TransferOut {
  readonly #s: InviteSession;
  readonly #target: string;
  readonly #timeoutMs: number;
  #last: number | undefined;
  #resolve: ((result: TransferResult) => void) | undefined;
  #timer: TimerHandle | undefined;
  #removeCleanup: (() => void) | undefined;

  constructor(session: InviteSession, target: string, timeoutMs: number) {
    this.#s = session;
    this.#target = target;
    this.#timeoutMs = timeoutMs;
  }

  async run(): Promise<TransferResult> {
    const s = this.#s;
    const parsed = parseUri(this.#target);
    if (!parsed.ok) throw new SipUserAgentError('CR_SIP_BAD_TARGET', `transfer target is not a URI: ${parsed.reason}`);
    const result = new Promise<TransferResult>((resolve) => {
      this.#resolve = resolve;
    });
    this.#timer = s.services.clock.setTimeout(() => this.#finish({ ok: false, status: 408 }), this.#timeoutMs);
    // The call ending first (the transferee hung up) settles it with what was last reported.
    this.#removeCleanup = s.onCleanup(() => {
      const last = this.#last;
      this.#finish({ ok: last !== undefined && last >= 200 && last < 300, status: last ?? 487 });
    });
    const referredBy = s.dialog?.localUri.uri.toString();
    const outcome = await s.sendInDialog('REFER', {
      headers: [
        ['Refer-To', `<${parsed.value.toString()}>`],
        ...(referredBy === undefined ? [] : [['Referred-By', `<${referredBy}>`] as const]),
      ],
    });
    if (outcome.kind !== 'final' || outcome.response.status >= 300) {
      const status = outcome.kind === 'final' ? outcome.response.status : outcome.kind === 'timeout' ? 408 : 503;
      this.#finish({ ok: false, status });
    }
    const final = await result;
    s.log.info({ status: final.status, ok: final.ok }, 'sip transfer finished');
    if (final.ok) await s.bye('local-bye', undefined, parsed.value.toString());
    return final;
  }

  /** A NOTIFY (Event: refer) of our subscription, already answered 200. */
  onNotify(request: SipMessage): void {
    const body = Buffer.from(request.body).toString('utf8');
    const status = parseSipfragStatus(body);
    if (status !== undefined) this.#last = status;
    const terminated = (request.get('subscription-state') ?? '').trim().toLowerCase().startsWith('terminated');
    if (status !== undefined && status >= 200) this.#finish({ ok: status < 300, status });
    else if (terminated) this.#finish({ ok: false, status: this.#last ?? 500 });
  }

  #finish(result: TransferResult): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    this.#resolve = undefined;
    if (this.#timer !== undefined) this.#s.services.clock.clearTimeout(this.#timer);
    this.#removeCleanup?.();
    resolve(result);
  }
}
