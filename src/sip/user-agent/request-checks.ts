import { checkRequest } from '../message/validate.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { isSipUri } from '../message/uri.ts';
import { ACCEPT_VALUE, ACCEPTED_BODIES, RECOGNISED_METHODS, SUPPORTED_OPTIONS } from './capabilities.ts';

/** Why a request is refused before any call logic sees it. */
export interface RequestRejection {
  readonly status: number;
  readonly reason?: string;
  readonly headers: readonly (readonly [string, string])[];
}

function reject(status: number, headers: readonly (readonly [string, string])[] = [], reason?: string): RequestRejection {
  return reason === undefined ? { status, headers } : { status, headers, reason };
}

/** Whether an Accept list admits `type` (exact, `type/*` or `*\/*`). */
function accepts(list: readonly { readonly type: string; readonly subtype: string }[], type: string): boolean {
  const [t, s] = type.split('/');
  return list.some((m) => {
    const mt = m.type.toLowerCase();
    const ms = m.subtype.toLowerCase();
    return (mt === '*' && ms === '*') || (mt === t && (ms === '*' || ms === s));
  });
}

/**
 * The checks a UAS makes before acting on a request, in the order of RFC 3261 §8.2 (none needs
 * state): §8.2 / RFC 4475 §3.3 malformed requests (400, `checkRequest`), §8.2.1 method (405 with
 * Allow, 501 for an unknown one), §8.2.2.1 Request-URI scheme (416), §8.2.2.3 Require (420 with
 * Unsupported), §8.2.3 body type and encoding (415 with Accept / Accept-Encoding), and an INVITE
 * whose Accept excludes SDP (406, RFC 4475 sdp01). Max-Forwards 0 is no reason to refuse: RFC 4475
 * §3.3.11 "An endpoint should process the request as if the Max-Forwards field value were still
 * positive" (483 is a proxy's answer).
 */
export function checkUasRequest(request: SipMessage, allow: readonly string[]): RequestRejection | undefined {
  const problem = checkRequest(request);
  if (problem !== undefined) return reject(400, [], problem.reason);
  const method = request.method;
  if (!allow.includes(method)) {
    // §8.2.1: "If the UAS recognizes but does not support the method of a request, it MUST generate
    // a 405 (Method Not Allowed) response ... The UAS MUST also add an Allow header field"; §21.5.2:
    // 501 when "the server does not recognize the request method".
    return RECOGNISED_METHODS.has(method) ? reject(405, [['Allow', allow.join(', ')]]) : reject(501);
  }
  const uri = request.uri;
  // §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject the
  // request with a 416 (Unsupported URI Scheme) response." (RFC 4475 unkscm, novelsc.)
  if (uri === undefined || !isSipUri(uri)) return reject(416);
  if (method !== 'ACK' && method !== 'CANCEL') {
    const require = request.parsed('require');
    if (require !== undefined && !require.ok) return reject(400, [], 'Bad Request - Malformed Require header');
    const unsupported = (require?.ok ? require.value : []).filter((tag) => !SUPPORTED_OPTIONS.includes(tag.toLowerCase()));
    // §8.2.2.3: "the UAS MUST respond by generating a response with a status code of 420 (Bad
    // Extension). The UAS MUST add an Unsupported header field, and list in it those options it does
    // not understand" (RFC 4475 bext01).
    if (unsupported.length > 0) return reject(420, [['Unsupported', unsupported.join(', ')]]);
  }
  const bodyTypes = ACCEPTED_BODIES[method];
  if (bodyTypes !== undefined && request.body.length > 0) {
    // §8.2.3: "If a UAS receives a request with a body of a type it does not understand, it MUST
    // respond with a 415 (Unsupported Media Type) response ... [with] an Accept header field listing
    // the types of all bodies it understands" (RFC 4475 invut).
    const type = request.contentType;
    if (type === undefined || !bodyTypes.includes(type.mime)) return reject(415, [['Accept', ACCEPT_VALUE]]);
    const encoding = request.get('content-encoding');
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      return reject(415, [['Accept-Encoding', 'identity']]);
    }
  }
  if (method === 'INVITE') {
    const accept = request.parsed('accept');
    // RFC 4475 §3.3.15 (sdp01): "since the Accept header field does not contain application/sdp,
    // the response may not contain an SDP body. The recipient of this request could respond with a
    // 406 Not Acceptable" — and every answer to an INVITE here carries SDP.
    if (accept?.ok === true && !accepts(accept.value, 'application/sdp')) return reject(406, [['Accept', 'application/sdp']]);
  }
  return undefined;
}
