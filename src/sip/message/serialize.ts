import type { SipMessage } from './sip-message.ts';

/**
 * Writes a message to wire form: start line, header lines with canonical names, a Content-Length
 * computed from the body (at the position of the first Content-Length line, else last), the empty
 * line, then the body octets. One allocation for the result.
 */
export function serializeMessage(msg: SipMessage): Buffer {
  const bodyLen = msg.body.length;
  let head = msg.startLine() + '\r\n';
  let wroteLength = false;
  for (const h of msg.headers) {
    if (h.key === 'content-length') {
      if (!wroteLength) head += `Content-Length: ${bodyLen}\r\n`;
      wroteLength = true;
      continue;
    }
    head += h.name + ': ' + h.value + '\r\n';
  }
  if (!wroteLength) head += `Content-Length: ${bodyLen}\r\n`;
  head += '\r\n';
  if (bodyLen === 0) return Buffer.from(head, 'utf8');
  const n = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(n + bodyLen);
  out.write(head, 0, 'utf8');
  out.set(msg.body, n);
  return out;
}
