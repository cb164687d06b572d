import { HOST, PASSWORD, URI_HEADER, URI_PARAM, USER, isChar } from './char-classes.ts';
import { formatHost, isIpv6, isValidHost, parsePort } from './host.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { SipParams } from './sip-params.ts';
import { escapeComponent, unescapeComponent } from './uri-escape.ts';

/**
 * A `sip:` or `sips:` URI (RFC 3261 §19.1). User, password, parameter and header components are
 * kept decoded (`%HH` undone, one char per octet), which is how §19.1.4 compares them; `toString`
 * escapes them again. The host has no IPv6 brackets.
 */
export class SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  password: string | undefined;
  host: string;
  port: number | undefined;
  /** uri-parameters (`;transport=tcp;lr`), decoded. */
  params: SipParams;
  /** headers (`?Route=...&Subject=...`), decoded. */
  headers: SipParams;

  constructor(init: { scheme?: 'sip' | 'sips'; user?: string; password?: string; host: string; port?: number }) {
    this.scheme = init.scheme ?? 'sip';
    this.user = init.user;
    this.password = init.password;
    this.host = init.host;
    this.port = init.port;
    this.params = new SipParams();
    this.headers = new SipParams();
  }

  /** `transport` parameter, lower-cased. */
  get transport(): string | undefined {
    return this.params.get('transport')?.toLowerCase();
  }

  get maddr(): string | undefined {
    return this.params.get('maddr') ?? undefined;
  }

  /** Loose-routing flag (RFC 3261 §16.12.1.1). */
  get lr(): boolean {
    return this.params.has('lr');
  }

  /** `user` parameter (`phone` for telephone-subscriber users). */
  get userParam(): string | undefined {
    return this.params.get('user') ?? undefined;
  }

  get method(): string | undefined {
    return this.params.get('method') ?? undefined;
  }

  /** `host[:port]` as it appears on the wire. */
  get hostPort(): string {
    return this.port === undefined ? formatHost(this.host) : `${formatHost(this.host)}:${this.port}`;
  }

  clone(): SipUri {
    const u = new SipUri(this);
    u.scheme = this.scheme;
    u.user = this.user;
    u.password = this.password;
    u.port = this.port;
    u.params = this.params.clone();
    u.headers = this.headers.clone();
    return u;
  }

  toString(): string {
    let out = this.scheme + ':';
    if (this.user !== undefined) {
      out += escapeComponent(this.user, USER);
      if (this.password !== undefined) out += ':' + escapeComponent(this.password, PASSWORD);
      out += '@';
    }
    out += this.hostPort;
    if (this.params.size > 0) out += this.params.format(encodeParam);
    let first = true;
    for (const [name, value] of this.headers) {
      out += (first ? '?' : '&') + escapeComponent(name, URI_HEADER) + '=' + escapeComponent(value ?? '', URI_HEADER);
      first = false;
    }
    return out;
  }
}

function encodeParam(s: string): string {
  return escapeComponent(s, URI_PARAM);
}

/** Parses a `sip:`/`sips:` URI; `colon` is the index of the ':' after the scheme. */
export function parseSipUri(s: string, colon: number): Parsed<SipUri> {
  const scheme = s.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return bad('not a SIP URI');
  const end = s.length;
  let pos = colon + 1;
  let user: string | undefined;
  let password: string | undefined;
  // '@' may not appear unescaped in a parameter or header, so the first one ends the userinfo
  // even when the user part holds ';' or '?' (RFC 4475 semiuri, intmeth).
  const at = s.indexOf('@', pos);
  if (at >= 0) {
    const pc = s.indexOf(':', pos);
    const userEnd = pc >= 0 && pc < at ? pc : at;
    if (userEnd === pos) return bad('empty user part');
    user = unescapeComponent(s, pos, userEnd, USER);
    if (user === undefined) return bad('invalid character in user part');
    if (userEnd < at) {
      password = unescapeComponent(s, userEnd + 1, at, PASSWORD);
      if (password === undefined && at > userEnd + 1) return bad('invalid character in password');
      password ??= '';
    }
    pos = at + 1;
  }
  let host: string;
  if (s.charCodeAt(pos) === 0x5b) {
    const close = s.indexOf(']', pos);
    if (close < 0) return bad('unterminated IPv6 reference');
    host = s.slice(pos + 1, close);
    if (!isIpv6(host)) return bad('invalid IPv6 address');
    pos = close + 1;
  } else {
    const start = pos;
    while (pos < end && isChar(s.charCodeAt(pos), HOST)) pos++;
    host = s.slice(start, pos);
    if (!isValidHost(host)) return bad('invalid host');
  }
  const uri = new SipUri({ scheme, host });
  uri.user = user;
  uri.password = password;
  if (s.charCodeAt(pos) === 0x3a) {
    const start = ++pos;
    while (pos < end && s.charCodeAt(pos) >= 0x30 && s.charCodeAt(pos) <= 0x39) pos++;
    const port = parsePort(s.slice(start, pos));
    if (port === undefined) return bad('invalid port');
    uri.port = port;
  }
  while (pos < end && s.charCodeAt(pos) === 0x3b) {
    const start = ++pos;
    while (pos < end && s.charCodeAt(pos) !== 0x3b && s.charCodeAt(pos) !== 0x3f) pos++;
    const eq = s.indexOf('=', start);
    const nameEnd = eq >= 0 && eq < pos ? eq : pos;
    const name = unescapeComponent(s, start, nameEnd, URI_PARAM);
    if (name === undefined || name.length === 0) return bad('invalid URI parameter');
    let value: string | null = null;
    if (nameEnd < pos) {
      value = unescapeComponent(s, nameEnd + 1, pos, URI_PARAM) ?? null;
      if (value === null || value.length === 0) return bad('invalid URI parameter value');
    }
    uri.params.append(name, value);
  }
  if (pos < end && s.charCodeAt(pos) === 0x3f) {
    pos++;
    while (pos <= end) {
      let amp = s.indexOf('&', pos);
      if (amp < 0) amp = end;
      const eq = s.indexOf('=', pos);
      if (eq < 0 || eq > amp) return bad('invalid URI header');
      const name = unescapeComponent(s, pos, eq, URI_HEADER);
      const value = eq + 1 === amp ? '' : unescapeComponent(s, eq + 1, amp, URI_HEADER);
      if (name === undefined || name.length === 0 || value === undefined) return bad('invalid URI header');
      uri.headers.append(name, value);
      pos = amp + 1;
    }
    return ok(uri);
  }
  if (pos !== end) return bad('unexpected character in URI');
  return ok(uri);
}
