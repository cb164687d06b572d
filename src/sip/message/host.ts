import { HOST, isChar, isDigit } from './char-classes.ts';

/**
 * Host grammar of RFC 3261 §25.1: hostname / IPv4address / IPv6reference. Hosts are kept without
 * the IPv6 brackets (what a socket wants); `formatHost` puts them back for the wire.
 */

/** Whether `host` (no brackets) is a syntactically valid hostname, IPv4 or IPv6 address. */
export function isValidHost(host: string): boolean {
  if (host.length === 0 || host.length > 255) return false;
  if (host.includes(':')) return isIpv6(host);
  let allDigitsAndDots = true;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (!isChar(c, HOST)) return false;
    if (!isDigit(c) && c !== 0x2e) allDigitsAndDots = false;
  }
  if (allDigitsAndDots) return isIpv4(host);
  // Empty labels ("a..b", ".a") are not hostnames; one trailing dot (FQDN) is.
  if (host.charCodeAt(0) === 0x2e || host.includes('..')) return false;
  return true;
}

export function isIpv4(s: string): boolean {
  let parts = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      parts++;
      digits = 0;
      value = 0;
    } else if (isDigit(c) && digits < 3) {
      digits++;
      value = value * 10 + (c - 0x30);
    } else return false;
  }
  return parts === 4;
}

/** IPv6 address text (RFC 4291 §2.2), optionally with a trailing dotted IPv4 part. */
export function isIpv6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const dbl = s.indexOf('::');
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return false;
  const groups = s.split(':');
  let count = 0;
  for (let g = 0; g < groups.length; g++) {
    const part = groups[g] as string;
    if (part.length === 0) continue; // part of "::" (checked above) or a leading/trailing ':' of it
    if (g === groups.length - 1 && part.includes('.')) {
      if (!isIpv4(part)) return false;
      count += 2;
      continue;
    }
    if (part.length > 4 || !/^[0-9a-fA-F]+$/.test(part)) return false;
    count++;
  }
  if (dbl < 0) {
    if (s.startsWith(':') || s.endsWith(':')) return false;
    return count === 8;
  }
  if ((s.startsWith(':') && dbl !== 0) || (s.endsWith(':') && dbl !== s.length - 2)) return false;
  return count <= 7;
}

/** The host as written in a URI or Via: IPv6 addresses in brackets. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Parses a port (1-5 digits, <= 65535); undefined when invalid. */
export function parsePort(s: string): number | undefined {
  if (s.length === 0 || s.length > 5) return undefined;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}
