import { CallroomError } from '../../core/errors.ts';
import { isToken } from './char-classes.ts';
import { reasonPhrase } from './reason-phrases.ts';
import { SipMessage } from './sip-message.ts';

/** Options of `createResponse`. */
export interface CreateResponseOptions {
  /** Add this To tag when the request's To has none (§8.2.6.2; required for all but 100). */
  readonly toTag?: string;
  /** Copy Record-Route too: a dialog-creating 18x/2xx must (§12.1.1). */
  readonly copyRecordRoute?: boolean;
}

const COPIED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);

/**
 * A response to `request` per RFC 3261 §8.2.6: Via lines (in order), From, To, Call-ID and CSeq
 * copied as received, Timestamp copied into a 100 (§8.2.6.1), a To tag added when asked and the
 * To has none. Works on requests that failed to parse (a `SipParseError.message` with
 * `canRespond`): values are copied verbatim, and a To that does not parse gets no tag.
 */
export function createResponse(request: SipMessage, status: number, reason?: string, options: CreateResponseOptions = {}): SipMessage {
  if (options.toTag !== undefined && !isToken(options.toTag)) throw new CallroomError('CR_SIP_BAD_TAG', 'To tag must be a token');
  const res = SipMessage.response(status, reason ?? reasonPhrase(status));
  const copied: { name: string; key: string; value: string }[] = [];
  let toIndex = -1;
  for (const h of request.headers) {
    const keep =
      COPIED.has(h.key) ||
      (status === 100 && h.key === 'timestamp') ||
      (options.copyRecordRoute === true && h.key === 'record-route');
    if (!keep) continue;
    // One From/To/Call-ID/CSeq only, even if the request repeated them (RFC 4475 multi01).
    if (h.key !== 'via' && h.key !== 'record-route' && copied.some((c) => c.key === h.key)) continue;
    if (h.key === 'to') toIndex = copied.length;
    copied.push(h);
  }
  if (options.toTag !== undefined && toIndex >= 0) {
    const to = request.parsed('to');
    if (to?.ok && to.value.tag === undefined) {
      const line = copied[toIndex] as { name: string; key: string; value: string };
      copied[toIndex] = { name: line.name, key: line.key, value: `${line.value};tag=${options.toTag}` };
    }
  }
  SipMessage.adopt(res, copied, '');
  return res;
}
