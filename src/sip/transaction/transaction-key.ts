import type { SipMessage } from '../message/sip-message.ts';
import type { Via } from '../message/via.ts';

/**
 * Transaction matching keys. Client side §17.1.3: branch of the top Via and CSeq method. Server
 * side §17.2.3: branch, sent-by and method (ACK matching the INVITE) when the branch carries the
 * RFC 3261 magic cookie; else the RFC 2543 rules (Request-URI, From tag, Call-ID, CSeq number, top
 * Via, and To tag).
 */

/** §17.1.3: "the branch parameter in the top Via ... and the method parameter in the CSeq". */
export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** Client key of a received response; undefined when it has no branch or CSeq. */
export function responseKey(response: SipMessage): string | undefined {
  const branch = response.topVia?.branch;
  const cseq = response.cseq;
  return branch === undefined || cseq === undefined ? undefined : clientKey(branch, cseq.method);
}

/** Options of `serverKey`. */
export interface ServerKeyOptions {
  /** Match as if the request had this method (ACK and CANCEL look up the INVITE, §17.2.3, §9.2). */
  readonly method?: string;
  /** RFC 2543 keys include the To tag, except the ACK index (its To tag is the response's). */
  readonly withToTag?: boolean;
}

/** Server key of a request; undefined when it has no top Via or CSeq. */
export function serverKey(request: SipMessage, options: ServerKeyOptions = {}): string | undefined {
  const via = request.topVia;
  const cseq = request.cseq;
  if (via === undefined || cseq === undefined) return undefined;
  const method = options.method ?? (request.method === 'ACK' ? 'INVITE' : request.method);
  if (via.hasRfc3261Branch) {
    // §17.2.3: "1. the branch parameter in the request is equal to the one in the top Via header
    // field of the request that created the transaction, and 2. the sent-by value in the top Via
    // of the request is equal to the one in the request that created the transaction, and 3. the
    // method of the request matches the one that created the transaction, except for ACK".
    return `${via.branch ?? ''}|${sentBy(via)}|${method}`;
  }
  // §17.2.3: "The INVITE request matches a transaction if the Request-URI, To tag, From tag,
  // Call-ID, CSeq, and top Via header field match those of the INVITE request which created the
  // transaction. ... [the ACK] if the Request-URI, From tag, Call-ID, CSeq number (not the method),
  // and top Via header field match those of the INVITE request which created the transaction, and
  // the To tag of the ACK matches the To tag of the response sent by the server transaction."
  const toTag = options.withToTag === false ? '' : (request.to?.tag ?? '');
  const fromTag = request.from?.tag ?? '';
  const topVia = `${via.transport} ${sentBy(via)};branch=${via.branch ?? ''}`;
  return ['2543', method, request.requestUri, fromTag, request.callId ?? '', cseq.seq, topVia, options.withToTag === false ? '*' : toTag].join('\n');
}

/** Whether a request falls under the RFC 2543 matching rules (no magic cookie in its branch). */
export function isRfc2543(request: SipMessage): boolean {
  return request.topVia?.hasRfc3261Branch !== true;
}

/** sent-by with the default port made explicit and the host case-folded: `A.example` = `a.example:5060`. */
function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? 5060}`;
}
