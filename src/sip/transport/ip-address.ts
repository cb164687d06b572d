import { isIP } from 'node:net';
import type { AddressFamily } from './transport.ts';

/**
 * IP literal helpers. The transport compares and sends to IP literals only; a host name anywhere a
 * target is needed is an error, never a DNS query.
 */

/** The host without IPv6 brackets. */
export function stripBrackets(host: string): string {
  return host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Family of an IP literal (brackets allowed); undefined for a host name or garbage. */
export function ipFamily(host: string): AddressFamily | undefined {
  const v = isIP(stripBrackets(host));
  return v === 4 ? 'IPv4' : v === 6 ? 'IPv6' : undefined;
}

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * Canonical text of an IP literal so that two spellings compare equal (`::1` and `0:0::1`,
 * `[::1]`, an IPv4-mapped IPv6 address and its IPv4 form). Undefined when not an IP literal.
 */
export function canonicalIp(host: string): string | undefined {
  const h = stripBrackets(host);
  const v = isIP(h);
  if (v === 4) return h;
  if (v !== 6) return undefined;
  const mapped = MAPPED_V4.exec(h);
  if (mapped !== null) return mapped[1];
  // URL normalises IPv6 text (RFC 5952 lower-case, longest zero run compressed).
  try {
    return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return h.toLowerCase();
  }
}

/** Whether two hosts are the same IP address (false when either is a host name). */
export function sameIp(a: string, b: string): boolean {
  const ca = canonicalIp(a);
  return ca !== undefined && ca === canonicalIp(b);
}

/** Family as node reports it (`'IPv4'`, `'IPv6'`, or 4/6 in some versions). */
export function familyOf(family: string | number): AddressFamily {
  return family === 'IPv6' || family === 6 ? 'IPv6' : 'IPv4';
}
