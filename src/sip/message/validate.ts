import { isAllDigits, isToken, trimWs } from './char-classes.ts';
import { splitList } from './header-names.ts';
import type { HeaderKey } from './header-parsers.ts';
import type { SipParseError, SipParseErrorCode } from './parse-error.ts';
import type { SipMessage } from './sip-message.ts';
import { isSipUri } from './uri.ts';
import { parseViaSentBy } from './via.ts';

/**
 * Whether a 4xx/5xx can be built for `msg`: a request with a recognisable top Via sent-by (to route
 * the response) and a CSeq with a method (what RFC 3261 §17.1.3 matches a response with). From,
 * To and Call-ID are copied when present and may be malformed: RFC 4475 expects a 400 for quotbal,
 * baddn, badaspec (broken To/From) and insuf (no From, To, Call-ID).
 */
export function isRespondable(msg: SipMessage): boolean {
  if (msg.kind !== 'request' || !isToken(msg.method)) return false;
  const via = msg.lines('via')[0];
  const top = via === undefined ? undefined : splitList(via)[0];
  if (top === undefined || parseViaSentBy(top) === undefined) return false;
  const line = msg.lines('cseq')[0];
  const cseq = line === undefined ? undefined : trimWs(line).split(/[ \t]+/);
  return cseq !== undefined && cseq.length === 2 && isAllDigits(cseq[0] as string) && isToken(cseq[1] as string);
}

/** Builds a parse error, deciding `status` and `canRespond` from what `msg` holds. */
export function parseError(
  code: SipParseErrorCode,
  reason: string,
  status: 400 | 505 | 513 | undefined,
  msg: SipMessage | undefined,
  header?: string,
): SipParseError {
  // Nothing is ever answered to a response, a keep-alive or an unrecognisable start line.
  const answer = msg?.kind === 'request' ? status : undefined;
  const canRespond = answer !== undefined && msg !== undefined && isRespondable(msg);
  return { code, reason, status: answer, canRespond, message: msg, ...(header === undefined ? {} : { header }) };
}

const REQUEST_CHECKS: readonly [HeaderKey, string][] = [
  ['via', 'Via'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['max-forwards', 'Max-Forwards'],
  ['contact', 'Contact'],
  ['date', 'Date'],
];
const RESPONSE_CHECKS = REQUEST_CHECKS.slice(0, 5);

/**
 * Checks the parts of a message every element relies on (RFC 4475 §3.1.2 lists what must be
 * refused): a well-formed Request-URI without headers, and well-formed Via, From, To, Call-ID,
 * CSeq (method matching the request's), Max-Forwards, Contact and Date when present. Missing or
 * repeated headers are `checkRequest`'s business. Returns undefined when all is well.
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  const isRequest = msg.kind === 'request';
  if (isRequest) {
    const uri = msg.uri;
    if (uri === undefined) return parseError('CR_SIP_BAD_REQUEST_URI', 'Bad Request - Malformed Request-URI', 400, msg);
    // §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 escruri).
    if (isSipUri(uri) && uri.headers.size > 0) {
      return parseError('CR_SIP_BAD_REQUEST_URI', 'Bad Request - Headers in Request-URI', 400, msg);
    }
  }
  for (const [key, name] of isRequest ? REQUEST_CHECKS : RESPONSE_CHECKS) {
    const p = msg.parsed(key);
    if (p !== undefined && !p.ok) {
      const what = key === 'cseq' && p.reason.includes('range') ? 'CSeq number out of range' : `Malformed ${name} header`;
      return parseError('CR_SIP_BAD_HEADER', isRequest ? `Bad Request - ${what}` : what, 400, msg, name);
    }
  }
  if (isRequest) {
    const cseq = msg.cseq;
    if (cseq !== undefined && cseq.method !== msg.method) {
      return parseError('CR_SIP_CSEQ_MISMATCH', 'Bad Request - CSeq method mismatch', 400, msg, 'CSeq');
    }
  }
  return undefined;
}

const MANDATORY: readonly [string, string][] = [
  ['via', 'Via'],
  ['from', 'From'],
  ['to', 'To'],
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
];
const SINGLE: readonly [string, string][] = [...MANDATORY.slice(1), ['max-forwards', 'Max-Forwards']];

/** A request problem a UAS answers with 400 (reason phrase given); see `checkRequest`. */
export interface RequestProblem {
  readonly status: 400;
  readonly reason: string;
  readonly header: string;
}

/**
 * Request checks of RFC 3261 §8.2 that need no policy, for a request that parsed: the mandatory
 * headers are present (RFC 4475 insuf), single-valued ones are not repeated (multi01), and
 * Content-Length values agree (mcl01). Max-Forwards may be absent (RFC 2543 peers, inv2543).
 * Scheme, Require, Max-Forwards 0 and method support are user agent decisions.
 */
export function checkRequest(msg: SipMessage): RequestProblem | undefined {
  for (const [key, name] of MANDATORY) {
    if (msg.lines(key).length === 0) return { status: 400, reason: `Bad Request - Missing ${name} header`, header: name };
  }
  for (const [key, name] of SINGLE) {
    if (msg.lines(key).length > 1) return { status: 400, reason: `Bad Request - Multiple ${name} headers`, header: name };
  }
  const lengths = msg.lines('content-length').map(trimWs);
  if (lengths.some((v) => v !== lengths[0])) {
    return { status: 400, reason: 'Bad Request - Conflicting Content-Length', header: 'Content-Length' };
  }
  return undefined;
}
