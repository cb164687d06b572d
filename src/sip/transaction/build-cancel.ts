import { SipMessage } from '../message/sip-message.ts';
import { copyLines, copyTopVia } from './build-ack.ts';

/**
 * A CANCEL for a client INVITE (RFC 3261 §9.1): Request-URI, Call-ID, To, From and CSeq number
 * identical to the INVITE's, one Via equal to its top Via (so it matches the server's INVITE
 * transaction, §9.2), and its Route header fields. Send it to the INVITE's destination with
 * `TransactionLayer.sendRequest` (its own non-INVITE transaction) only after a provisional
 * response arrived (§9.1).
 */
export function buildCancel(invite: SipMessage): SipMessage {
  const cancel = SipMessage.request('CANCEL', invite.requestUri);
  copyTopVia(invite, cancel);
  copyLines(invite, cancel, 'route');
  copyLines(invite, cancel, 'max-forwards');
  copyLines(invite, cancel, 'from');
  copyLines(invite, cancel, 'to');
  copyLines(invite, cancel, 'call-id');
  cancel.append('CSeq', `${invite.cseq?.seq ?? 0} CANCEL`);
  return cancel;
}
