import { isAllDigits, trimWs } from './char-classes.ts';
import { Lexer, quote, unquote } from './lexer.ts';
import { parseGenericParams } from './generic-params.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { SipParams } from './sip-params.ts';
import { parseUri, type Uri } from './uri.ts';

/**
 * name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route, Refer-To
 * and the like (RFC 3261 §20.10, §25.1). Parameters are raw (quoted values keep their quotes).
 */
export class NameAddr {
  /** Display name, unquoted and unescaped; undefined when absent. */
  displayName: string | undefined;
  uri: Uri;
  params: SipParams;

  constructor(uri: Uri, displayName?: string, params = new SipParams()) {
    this.uri = uri;
    this.displayName = displayName;
    this.params = params;
  }

  /** `tag` parameter (From/To, RFC 3261 §19.3). */
  get tag(): string | undefined {
    return this.params.get('tag') ?? undefined;
  }

  set tag(value: string | undefined) {
    if (value === undefined) this.params.delete('tag');
    else this.params.set('tag', value);
  }

  /** Contact `expires` parameter in seconds; undefined when absent or not a delta-seconds value. */
  get expires(): number | undefined {
    const v = this.params.get('expires');
    return typeof v === 'string' ? parseDeltaSeconds(v) : undefined;
  }

  /** Contact `q` parameter (0..1); undefined when absent or malformed. */
  get q(): number | undefined {
    const v = this.params.get('q');
    if (typeof v !== 'string' || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return undefined;
    return Number(v);
  }

  clone(): NameAddr {
    return new NameAddr(this.uri.clone(), this.displayName, this.params.clone());
  }

  /** Always the name-addr form (angle brackets), which is valid whatever the URI holds. */
  toString(): string {
    const dn = this.displayName === undefined ? '' : `${quote(this.displayName)} `;
    return `${dn}<${this.uri.toString()}>${this.params.format()}`;
  }
}

/** A Contact header: `*` (REGISTER removal, RFC 3261 §10.2.2) or a list of addresses. */
export type ContactList = { readonly wildcard: true; readonly values: readonly [] } | { readonly wildcard: false; readonly values: NameAddr[] };

/** delta-seconds (1*DIGIT) up to 2^32-1; undefined when malformed or larger (RFC 4475 scalar02). */
export function parseDeltaSeconds(s: string): number | undefined {
  const t = trimWs(s);
  if (!isAllDigits(t)) return undefined;
  const n = Number(t.replace(/^0+(?=\d)/, ''));
  return n <= 0xffffffff ? n : undefined;
}

function readAddress(lx: Lexer, inList: boolean): Parsed<NameAddr> {
  lx.ws();
  let displayName: string | undefined;
  const s = lx.s;
  if (lx.peek() === 0x22) {
    const raw = lx.quotedRaw();
    if (raw === undefined) return bad('unterminated quoted display name');
    displayName = unquote(raw);
    lx.ws();
    if (lx.peek() !== 0x3c) return bad('display name without <URI>');
  } else if (lx.peek() !== 0x3c) {
    // Either *(token LWS) "<" (a display name) or an addr-spec; only the '<' tells them apart.
    const save = lx.i;
    const words: string[] = [];
    for (;;) {
      const w = lx.token();
      if (w.length === 0) break;
      words.push(w);
      lx.ws();
    }
    if (lx.peek() === 0x3c && words.length > 0) displayName = words.join(' ');
    else {
      lx.i = save;
      let j = save;
      while (j < s.length) {
        const c = s.charCodeAt(j);
        if (c === 0x3b || c === 0x20 || c === 0x09 || c === 0x2c || c === 0x3f) break;
        j++;
      }
      // §20: a URI with ',', '?' or ';' must be in angle brackets (RFC 4475 regbadct).
      if (s.charCodeAt(j) === 0x3f) return bad("addr-spec with '?' outside <>");
      const uri = parseUri(s.slice(save, j));
      if (!uri.ok) return uri;
      lx.i = j;
      return withParams(lx, new NameAddr(uri.value), inList);
    }
  }
  // lx is on '<'
  lx.i++;
  const close = s.indexOf('>', lx.i);
  if (close < 0) return bad('unterminated <URI>');
  const uri = parseUri(s.slice(lx.i, close));
  if (!uri.ok) return uri;
  lx.i = close + 1;
  return withParams(lx, new NameAddr(uri.value, displayName), inList);
}

function withParams(lx: Lexer, addr: NameAddr, inList: boolean): Parsed<NameAddr> {
  if (!parseGenericParams(lx, addr.params)) return bad('malformed header parameter');
  lx.ws();
  if (!lx.done && !(inList && lx.peek() === 0x2c)) return bad('unexpected text after address');
  return ok(addr);
}

/** One name-addr or addr-spec filling the whole value (From, To, Refer-To, Reply-To). */
export function parseNameAddr(value: string): Parsed<NameAddr> {
  return readAddress(new Lexer(value), false);
}

/** A comma-separated list of addresses (Route, Record-Route, Contact, P-Asserted-Identity). */
export function parseNameAddrList(value: string): Parsed<NameAddr[]> {
  const lx = new Lexer(value);
  const out: NameAddr[] = [];
  for (;;) {
    const one = readAddress(lx, true);
    if (!one.ok) return one;
    out.push(one.value);
    lx.ws();
    if (lx.done) return ok(out);
    lx.i++; // the ','
    lx.ws();
    if (lx.done) return bad('empty list element');
  }
}

/** A Contact value: `*` or an address list. */
export function parseContact(value: string): Parsed<ContactList> {
  const t = trimWs(value);
  if (t === '*') return ok({ wildcard: true, values: [] });
  const list = parseNameAddrList(t);
  return list.ok ? ok({ wildcard: false, values: list.value }) : list;
}

