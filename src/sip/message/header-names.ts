import { trimWs } from './char-classes.ts';

/**
 * Header names: canonical spelling for output, compact forms (RFC 3261 §7.3.3 and the extensions
 * that define one), and which headers are comma-separated lists that may be split.
 */

const CANONICAL = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
  'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Diversion',
  'Error-Info', 'Event', 'Expires', 'Flow-Timer', 'From', 'History-Info', 'Identity', 'Identity-Info',
  'In-Reply-To', 'Join', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Min-SE', 'Organization',
  'P-Asserted-Identity', 'P-Preferred-Identity', 'P-Called-Party-ID', 'P-Charging-Vector', 'Path', 'Priority',
  'Privacy', 'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason', 'Record-Route',
  'Refer-Sub', 'Refer-To', 'Referred-By', 'Reject-Contact', 'Remote-Party-ID', 'Replaces', 'Reply-To',
  'Request-Disposition', 'Require', 'Retry-After', 'Route', 'RSeq', 'Security-Client', 'Security-Server',
  'Security-Verify', 'Server', 'Service-Route', 'Session-Expires', 'SIP-ETag', 'SIP-If-Match', 'Subject',
  'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning',
  'WWW-Authenticate',
];

const COMPACT: Record<string, string> = {
  a: 'accept-contact', b: 'referred-by', c: 'content-type', d: 'request-disposition', e: 'content-encoding',
  f: 'from', i: 'call-id', j: 'reject-contact', k: 'supported', l: 'content-length', m: 'contact',
  n: 'identity-info', o: 'event', r: 'refer-to', s: 'subject', t: 'to', u: 'allow-events', v: 'via',
  x: 'session-expires', y: 'identity',
};

/**
 * Headers whose values are comma-separated lists and never hold an unquoted comma inside one
 * element. Authorization, WWW-Authenticate, Date and unknown headers are deliberately absent.
 */
const LIST_KEYS = new Set([
  'accept', 'accept-contact', 'accept-encoding', 'accept-language', 'alert-info', 'allow', 'allow-events',
  'call-info', 'contact', 'content-encoding', 'content-language', 'error-info', 'history-info', 'in-reply-to',
  'p-asserted-identity', 'p-preferred-identity', 'path', 'proxy-require', 'reason', 'record-route',
  'reject-contact', 'require', 'route', 'security-client', 'security-server', 'security-verify',
  'service-route', 'supported', 'unsupported', 'via', 'warning', 'diversion',
]);

const canonicalByKey = new Map<string, string>();
for (const name of CANONICAL) canonicalByKey.set(name.toLowerCase(), name);

/** Lookup key of a header name: lower-cased, compact form expanded (`i` -> `call-id`). */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  return lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
}

/**
 * Key and canonical name of a header name as received. Spellings of known headers are memoised
 * (the parser meets the same few dozen all the time); unknown names, which a peer chooses freely,
 * are not, so the memo cannot grow without bound.
 */
const known = new Map<string, { readonly key: string; readonly name: string }>();
const KNOWN_MEMO_LIMIT = 4096;

export function resolveHeaderName(asGiven: string): { readonly key: string; readonly name: string } {
  const hit = known.get(asGiven);
  if (hit !== undefined) return hit;
  const key = headerKey(asGiven);
  const canonical = canonicalByKey.get(key);
  if (canonical === undefined) return { key, name: asGiven };
  const entry = { key, name: canonical };
  if (known.size < KNOWN_MEMO_LIMIT) known.set(asGiven, entry);
  return entry;
}

/** Canonical spelling for output: `Call-ID`, `CSeq`, `WWW-Authenticate`; unknown names as given. */
export function canonicalName(key: string, asGiven: string): string {
  return canonicalByKey.get(key) ?? asGiven;
}

/** Whether a header's value may be split at commas into separate values. */
export function isListHeader(key: string): boolean {
  return LIST_KEYS.has(key);
}

/**
 * Splits a list header value at commas outside quoted strings and angle brackets; trims the parts
 * and drops empty ones.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      const part = trimWs(value.slice(start, i));
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  const last = trimWs(value.slice(start));
  if (last.length > 0) out.push(last);
  return out;
}
