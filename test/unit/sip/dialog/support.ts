import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import type { SipMessage } from '../../../../src/sip/message/sip-message.ts';

/** Parses wire lines (joined with CRLF, Content-Length added); throws when they do not parse. */
export function msg(lines: readonly string[], body = ''): SipMessage {
  const text = `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const outcome = parseMessage(Buffer.from(text));
  if (!outcome.ok) throw new Error(`test message does not parse: ${outcome.error.reason}`);
  return outcome.message;
}

/** An INVITE as it reaches the UAS through two proxies that record-route. */
export function inviteViaProxies(extra: readonly string[] = []): SipMessage {
  return msg([
    'INVITE sip:agent@192.0.2.10:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKp2',
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKp1',
    'Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKcaller',
    'Record-Route: <sip:192.0.2.2;lr>',
    'Record-Route: <sip:192.0.2.1;lr>',
    'Max-Forwards: 68',
    'From: "Caller" <sip:caller@example.net>;tag=from-1',
    'To: <sip:agent@example.com>',
    'Call-ID: dlg-1@192.0.2.50',
    'CSeq: 10 INVITE',
    'Contact: <sip:caller@192.0.2.50:5060>',
    ...extra,
  ]);
}
