import { splitList } from '../message/header-names.ts';
import { SipMessage } from '../message/sip-message.ts';

/**
 * The ACK a client INVITE transaction sends for a non-2xx final response (RFC 3261 §17.1.1.3):
 * Request-URI, Call-ID and From of the INVITE; To of the response (with its tag); one Via equal to
 * the INVITE's top Via (same branch, so it reaches the same server transaction); CSeq number of
 * the INVITE with method ACK; the INVITE's Route header fields.
 */
export function buildNon2xxAck(invite: SipMessage, response: SipMessage): SipMessage {
  const ack = SipMessage.request('ACK', invite.requestUri);
  copyTopVia(invite, ack);
  copyLines(invite, ack, 'route');
  copyLines(invite, ack, 'max-forwards');
  copyLines(invite, ack, 'from');
  copyLines(response, ack, 'to');
  copyLines(invite, ack, 'call-id');
  ack.append('CSeq', `${invite.cseq?.seq ?? 0} ACK`);
  return ack;
}

/** Copies every line of a header, in order. */
export function copyLines(from: SipMessage, to: SipMessage, key: string): void {
  const header = from.headers.find((h) => h.key === key);
  if (header === undefined) return;
  for (const value of from.lines(key)) to.append(header.name, value);
}

/** Copies the top Via value alone (§17.1.1.3, §9.1: a single Via). */
export function copyTopVia(from: SipMessage, to: SipMessage): void {
  const line = from.lines('via')[0];
  const top = line === undefined ? undefined : splitList(line)[0];
  if (top !== undefined) to.append('Via', top);
}
