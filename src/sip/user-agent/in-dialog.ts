import type { SipMessage } from '../message/sip-message.ts';
import type { ServerTransaction } from '../transaction/transaction-user.ts';
import type { InviteSession } from './invite-session.ts';
import { addCapabilities } from './capabilities.ts';
import { parseInfoDtmf } from './info-dtmf.ts';
import { handleRefer } from './refer-in.ts';
import { buildResponse } from './responses.ts';
import { handleReinvite, handleUpdate } from './session-update.ts';

/**
 * A request that matched one of the call's dialogs (RFC 3261 §12.2.2), already past
 * `checkUasRequest`: CSeq order (500 when lower than the last), then per method.
 */
export function handleInDialogRequest(s: InviteSession, tx: ServerTransaction, request: SipMessage): void {
  const dialog = s.dialog;
  if (dialog === undefined || s.state === 'ended') {
    s.respond(tx, 481);
    return;
  }
  if (!dialog.acceptRemoteSeq(request)) {
    s.respond(tx, 500, { reason: 'Server Internal Error - CSeq out of order' });
    return;
  }
  switch (request.method) {
    case 'BYE':
      // §15.1.2: "the UAS MUST ... respond to the BYE with a 2xx"; an INVITE still unanswered gets 487.
      s.respond(tx, 200);
      s.initial?.finalize(487);
      s.end('remote-bye');
      return;
    case 'INVITE':
      if (tx.kind === 'invite-server') handleReinvite(s, tx, request);
      return;
    case 'UPDATE':
      if (tx.kind === 'non-invite-server') handleUpdate(s, tx, request);
      return;
    case 'INFO':
      onInfo(s, tx, request);
      return;
    case 'REFER':
      handleRefer(s, tx, request);
      return;
    case 'NOTIFY':
      onNotify(s, tx, request);
      return;
    case 'OPTIONS':
      tx.respond(addCapabilities(buildResponse(request, 200, { server: s.services.settings.userAgent }), s.services.settings.allow));
      return;
    default:
      // PRACK: this user agent never sends reliable provisional responses (RFC 3262 §4).
      s.respond(tx, 481);
  }
}

/** INFO: 200 always (an empty one is a keep-alive); a DTMF body becomes an onDtmf event. */
function onInfo(s: InviteSession, tx: ServerTransaction, request: SipMessage): void {
  s.respond(tx, 200);
  const mime = request.contentType?.mime;
  if (mime === undefined || request.body.length === 0) return;
  const dtmf = parseInfoDtmf(mime, Buffer.from(request.body).toString('utf8'));
  if (dtmf === undefined) return;
  s.log.debug({ digits: dtmf.digit }, 'sip INFO dtmf');
  s.emitDtmf({ digit: dtmf.digit, durationMs: dtmf.durationMs, source: 'info' });
}

/** NOTIFY: only the implicit subscription of a transfer we are making (RFC 3515) exists here. */
function onNotify(s: InviteSession, tx: ServerTransaction, request: SipMessage): void {
  const event = (request.get('event') ?? '').split(';')[0]?.trim().toLowerCase();
  const transfer = s.transferOut;
  if (event !== 'refer' || transfer === undefined) {
    // RFC 6665 §4.1.3: a NOTIFY that matches no subscription gets 481.
    s.respond(tx, 481, { reason: 'Subscription Does Not Exist' });
    return;
  }
  s.respond(tx, 200);
  transfer.onNotify(request);
}
