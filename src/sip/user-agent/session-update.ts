import { glareRetryDelay } from '../dialog/reinvite-guard.ts';
import type { SipMessage } from '../message/sip-message.ts';
import type { Direction } from '../sdp/negotiate.ts';
import type { InviteServerTransaction } from '../transaction/invite-server-transaction.ts';
import type { NonInviteServerTransaction } from '../transaction/non-invite-server-transaction.ts';
import type { ClientTransactionUser } from '../transaction/transaction-user.ts';
import type { InviteSession } from './invite-session.ts';
import { SUPPORTED_OPTIONS } from './capabilities.ts';
import { SipUserAgentError } from './errors.ts';
import { buildResponse } from './responses.ts';

const SDP = 'application/sdp';

/** A 2xx to a re-INVITE or UPDATE: Contact (both refresh the target) and maybe SDP. */
function okResponse(s: InviteSession, request: SipMessage, sdp: string | undefined): SipMessage {
  const settings = s.services.settings;
  return buildResponse(request, 200, {
    contact: s.localContact,
    server: settings.userAgent,
    headers: [
      ['Allow', settings.allow.join(', ')],
      ['Supported', SUPPORTED_OPTIONS.join(', ')],
    ],
    ...(sdp === undefined ? {} : { body: { type: SDP, text: sdp } }),
  });
}

/**
 * A re-INVITE from the peer (RFC 3261 §14.2): glare (491) and overlap (500 + Retry-After) by
 * `ReinviteGuard`, target refresh, our answer in the 2xx (hold/resume and media changes applied at
 * once), or our offer in the 2xx when it has no SDP (answer in the ACK). 488 leaves the session as
 * it was (§14.2: "the UAS ... MUST NOT change the session state").
 */
export function handleReinvite(s: InviteSession, tx: InviteServerTransaction, request: SipMessage): void {
  const dialog = s.dialog;
  if (dialog === undefined) return;
  const check = s.guard.checkIncoming(s.services.random);
  if (!check.ok) {
    s.respond(tx, check.status, check.status === 500 ? { headers: [['Retry-After', String(check.retryAfter)]] } : {});
    return;
  }
  // Our offer (in a 2xx whose ACK has not come) is outstanding: RFC 3264 §4 allows one at a time.
  if (s.awaitingAck !== undefined) {
    s.respond(tx, 491);
    return;
  }
  const seq = request.cseq?.seq ?? 0;
  s.guard.beginIncoming(seq);
  dialog.refreshTarget(request);
  const hasOffer = request.body.length > 0;
  let sdp: string;
  let answered: ReturnType<InviteSession['callMedia']['answer']> | undefined;
  if (hasOffer) {
    answered = s.callMedia.answer(request.body, s.localDirection);
    if (!answered.ok) {
      s.respond(tx, 488, { reason: answered.reason, headers: [['Warning', '304 callroom "Media type not available"']] });
      s.guard.endIncoming();
      return;
    }
    sdp = answered.body;
  } else {
    sdp = s.callMedia.offer(s.localDirection);
  }
  const response = okResponse(s, request, sdp);
  const sent = s.services.layer.sendInvite2xx(tx, response, () => {
    const waiting = s.awaitingAck;
    if (waiting?.seq !== seq) return;
    s.awaitingAck = undefined;
    void s.bye('timeout', 408);
  });
  // The final response is out: §14.2's "before it sends the final response" window is closed.
  s.guard.endIncoming();
  if (!sent) return;
  if (answered?.ok === true) s.applyAudio(answered.audio, s.localDirection);
  // Until the ACK, a new offer from the peer gets 491 (RFC 3264 §4: one offer at a time).
  s.awaitingAck = { seq, lateOffer: !hasOffer, localDirection: s.localDirection, settle: () => undefined };
}

/**
 * An UPDATE from the peer (RFC 3311): a target refresh, with an offer answered in the 200. 491 when
 * our own offer is outstanding (§5.2), 488 when nothing in it is acceptable.
 */
export function handleUpdate(s: InviteSession, tx: NonInviteServerTransaction, request: SipMessage): void {
  const dialog = s.dialog;
  if (dialog === undefined) return;
  const hasOffer = request.body.length > 0;
  if (hasOffer && (s.guard.outgoing || s.awaitingAck?.lateOffer === true)) {
    // RFC 3311 §5.2: "If an UPDATE is received that contains an offer, and the UAS has generated an
    // offer ... to which it has not yet received an answer, the UAS MUST reject the UPDATE with a 491".
    s.respond(tx, 491);
    return;
  }
  if (!hasOffer) {
    dialog.refreshTarget(request);
    tx.respond(okResponse(s, request, undefined));
    return;
  }
  const answered = s.callMedia.answer(request.body, s.localDirection);
  if (!answered.ok) {
    s.respond(tx, 488, { reason: answered.reason });
    return;
  }
  dialog.refreshTarget(request);
  tx.respond(okResponse(s, request, answered.body));
  s.applyAudio(answered.audio, s.localDirection);
}

type ReinviteResult = { readonly kind: 'ok' } | { readonly kind: 'glare' } | { readonly kind: 'failed'; readonly status: number };

/** At most this many 491s in a row before giving up. */
const MAX_GLARE_RETRIES = 3;

/**
 * Our re-INVITE changing the direction (hold: sendonly, resume: sendrecv). On 491 it waits the
 * §14.1 time (2.1-4 s when we own the Call-ID, else 0-2 s) and tries again; any other failure
 * leaves the session unchanged, except 408/481/timeout which end the call with a BYE (§14.1).
 */
export async function sendReinvite(s: InviteSession, direction: Direction): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (!s.guard.beginOutgoing()) throw new SipUserAgentError('CR_SIP_CALL_BUSY', 'another INVITE is in progress on this call');
    let result: ReinviteResult;
    try {
      result = await reinviteOnce(s, direction);
    } finally {
      s.guard.endOutgoing();
    }
    if (result.kind === 'ok') return;
    if (result.kind === 'failed') {
      throw new SipUserAgentError('CR_SIP_REQUEST_FAILED', `re-INVITE failed with ${result.status}`, { status: result.status });
    }
    if (attempt >= MAX_GLARE_RETRIES) throw new SipUserAgentError('CR_SIP_REQUEST_FAILED', 're-INVITE kept meeting glare (491)', { status: 491 });
    const ownsCallId = s.dialog?.role === 'uac';
    await waitOn(s, glareRetryDelay(ownsCallId, s.services.random));
    if (s.state !== 'active') throw new SipUserAgentError('CR_SIP_CALL_STATE', 'the call ended during a re-INVITE');
  }
}

/** Resolves after `ms` on the user agent's clock, or at once when the call ends. */
function waitOn(s: InviteSession, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const clock = s.services.clock;
    const handle = clock.setTimeout(() => {
      remove();
      resolve();
    }, ms);
    const remove = s.onCleanup(() => {
      clock.clearTimeout(handle);
      resolve();
    });
  });
}

function reinviteOnce(s: InviteSession, direction: Direction): Promise<ReinviteResult> {
  const dialog = s.dialog;
  if (dialog === undefined || s.state !== 'active') return Promise.resolve({ kind: 'failed', status: 481 });
  const offer = s.callMedia.offer(direction);
  const invite = dialog.createRequest('INVITE', {
    body: offer,
    contentType: SDP,
    headers: [
      ['User-Agent', s.services.settings.userAgent],
      ['Allow', s.services.settings.allow.join(', ')],
    ],
  });
  const seq = invite.cseq?.seq ?? 0;
  const route = dialog.destinationFor(invite);
  if (!route.ok) return Promise.resolve({ kind: 'failed', status: 503 });
  return new Promise((resolve) => {
    let acked = false;
    const remove = s.onCleanup(() => resolve({ kind: 'failed', status: 481 }));
    const done = (result: ReinviteResult): void => {
      remove();
      resolve(result);
    };
    const endWith = (status: number): void => {
      // §14.1: "If a UA receives a non-2xx final response to a re-INVITE ... [that] is a 481 ... or
      // a 408 ..., or no response at all is received for the re-INVITE ..., the UAC will terminate
      // the dialog."
      done({ kind: 'failed', status });
      void s.bye(status === 408 ? 'timeout' : 'error', status);
    };
    const user: ClientTransactionUser = {
      onResponse(response) {
        const status = response.status;
        if (status < 200) return;
        if (status >= 300) {
          if (status === 491) done({ kind: 'glare' });
          else if (status === 408 || status === 481) endWith(status);
          else done({ kind: 'failed', status });
          return;
        }
        if (acked) {
          s.resendAck(response);
          return;
        }
        acked = true;
        dialog.refreshTarget(response);
        const ack = dialog.createAck(seq, { headers: [['User-Agent', s.services.settings.userAgent]] });
        const ackRoute = dialog.destinationFor(ack);
        if (ackRoute.ok) s.sendAck(seq, ack, ackRoute.destination);
        const answer = response.body.length > 0 ? s.callMedia.acceptAnswer(response.body, direction) : { ok: false as const, reason: 'no SDP answer' };
        if (!answer.ok) {
          s.log.warn({ why: answer.reason }, 'sip unusable answer to re-INVITE');
          endWith(488);
          return;
        }
        s.localDirection = direction;
        s.applyAudio(answer.audio, direction);
        done({ kind: 'ok' });
      },
      onTimeout() {
        endWith(408);
      },
      onTransportError() {
        endWith(503);
      },
    };
    try {
      s.services.layer.sendRequest(invite, route.destination, user);
    } catch {
      done({ kind: 'failed', status: 503 });
    }
  });
}
