import { SipParams } from './sip-params.ts';
import { SipUri } from './sip-uri.ts';
import { TelUri, type Uri } from './uri.ts';

/** Parameters that must match when either URI has them (§19.1.4). */
const SIGNIFICANT = ['user', 'ttl', 'method', 'maddr', 'transport'];

function sameParam(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  return a.toLowerCase() === b.toLowerCase();
}

function paramsMatch(a: SipParams, b: SipParams): boolean {
  for (const name of SIGNIFICANT) if (!sameParam(a.get(name), b.get(name))) return false;
  // Other parameters count only when both URIs carry them.
  for (const [name, value] of a) {
    const other = b.get(name);
    if (other !== undefined && !sameParam(value, other)) return false;
  }
  return true;
}

function headersMatch(a: SipParams, b: SipParams): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (b.get(name) !== value) return false;
  return true;
}

/**
 * URI equality of RFC 3261 §19.1.4 for SIP/SIPS URIs: user and password case-sensitive after
 * unescaping, host case-insensitive, an absent port unequal to an explicit 5060, significant
 * parameters present in both or neither, other parameters compared only when in both, headers all
 * equal. tel: URIs compare number digits and parameters (RFC 3966 §4); others compare as text.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a instanceof SipUri && b instanceof SipUri) {
    return (
      a.scheme === b.scheme &&
      a.user === b.user &&
      a.password === b.password &&
      a.host.toLowerCase() === b.host.toLowerCase() &&
      a.port === b.port &&
      paramsMatch(a.params, b.params) &&
      paramsMatch(b.params, a.params) &&
      headersMatch(a.headers, b.headers)
    );
  }
  if (a instanceof TelUri && b instanceof TelUri) {
    if (a.digits.toLowerCase() !== b.digits.toLowerCase() || a.params.size !== b.params.size) return false;
    for (const [name, value] of a.params) if (!sameParam(value, b.params.get(name))) return false;
    return true;
  }
  if (a instanceof SipUri || b instanceof SipUri || a instanceof TelUri || b instanceof TelUri) return false;
  return a.scheme === b.scheme && a.opaque === b.opaque;
}
