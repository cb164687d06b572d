import { isAllDigits, isToken, trimWs } from './char-classes.ts';
import { parseGenericParams } from './generic-params.ts';
import { Lexer } from './lexer.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { SipParams } from './sip-params.ts';

/** CSeq (RFC 3261 §20.16). */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be less than 2^31. */
const MAX_CSEQ = 0x7fffffff;

/** Integer value of a digit string of at most `maxDigits` significant digits, else undefined. */
function digits(s: string, maxDigits: number): number | undefined {
  if (!isAllDigits(s)) return undefined;
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++;
  if (s.length - i > maxDigits) return undefined;
  return Number(s.slice(i));
}

export function parseCSeq(value: string): Parsed<CSeq> {
  const lx = new Lexer(value);
  lx.ws();
  const start = lx.i;
  while (lx.i < value.length && value.charCodeAt(lx.i) >= 0x30 && value.charCodeAt(lx.i) <= 0x39) lx.i++;
  const num = value.slice(start, lx.i);
  if (num.length === 0 || !lx.ws()) return bad('malformed CSeq');
  const method = lx.token();
  lx.ws();
  if (method.length === 0 || !lx.done) return bad('malformed CSeq');
  const seq = digits(num, 10);
  if (seq === undefined || seq > MAX_CSEQ) return bad('CSeq number out of range');
  return ok({ seq, method });
}

/** Max-Forwards: 0..255 (RFC 3261 §20.22; RFC 4475 scalar02 has 300). */
export function parseMaxForwards(value: string): Parsed<number> {
  const n = digits(trimWs(value), 3);
  return n === undefined || n > 255 ? bad('bad Max-Forwards') : ok(n);
}

/** Content-Length: 1*DIGIT (RFC 4475 ncl has -999). */
export function parseContentLength(value: string): Parsed<number> {
  const n = digits(trimWs(value), 15);
  return n === undefined ? bad('bad Content-Length') : ok(n);
}

/** Expires / Min-Expires: delta-seconds up to 2^32-1. */
export function parseDeltaSecondsHeader(value: string): Parsed<number> {
  const n = digits(trimWs(value), 10);
  return n === undefined || n > 0xffffffff ? bad('bad delta-seconds') : ok(n);
}

/**
 * Call-ID: one word, optionally `@` word (§25.1). Real stacks put other printable characters in
 * it, so only white space, controls and non-ASCII are refused.
 */
export function parseCallId(value: string): Parsed<string> {
  const v = trimWs(value);
  if (v.length === 0) return bad('empty Call-ID');
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return bad('bad Call-ID');
  }
  return ok(v);
}

/** A comma-separated list of tokens (Require, Supported, Allow, Proxy-Require, Unsupported). */
export function parseTokenList(value: string): Parsed<string[]> {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = trimWs(part);
    if (t.length === 0) continue;
    if (!isToken(t)) return bad('bad token list');
    out.push(t);
  }
  return ok(out);
}

/** A media type (`application/sdp;charset=x`) or, in Accept, a media range. */
export class MediaType {
  type: string;
  subtype: string;
  params: SipParams;

  constructor(type: string, subtype: string, params = new SipParams()) {
    this.type = type;
    this.subtype = subtype;
    this.params = params;
  }

  /** `type/subtype`, lower-cased, for comparisons. */
  get mime(): string {
    return `${this.type}/${this.subtype}`.toLowerCase();
  }

  toString(): string {
    return `${this.type}/${this.subtype}${this.params.format()}`;
  }
}

function readMediaType(lx: Lexer): Parsed<MediaType> {
  lx.ws();
  const type = lx.token();
  if (type.length === 0 || !lx.sep(0x2f)) return bad('bad media type');
  const subtype = lx.token();
  if (subtype.length === 0) return bad('bad media type');
  const mt = new MediaType(type, subtype);
  if (!parseGenericParams(lx, mt.params)) return bad('bad media type parameter');
  lx.ws();
  return ok(mt);
}

export function parseMediaType(value: string): Parsed<MediaType> {
  const lx = new Lexer(value);
  const mt = readMediaType(lx);
  if (mt.ok && !lx.done) return bad('bad media type');
  return mt;
}

/** Accept: a possibly empty list of media ranges. */
export function parseMediaTypeList(value: string): Parsed<MediaType[]> {
  const out: MediaType[] = [];
  const lx = new Lexer(value);
  lx.ws();
  while (!lx.done) {
    const mt = readMediaType(lx);
    if (!mt.ok) return mt;
    out.push(mt.value);
    if (lx.done) break;
    if (!lx.eat(0x2c)) return bad('bad media type list');
    lx.ws();
  }
  return ok(out);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC1123 = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

/** Date: rfc1123-date, always GMT (RFC 3261 §20.17; RFC 4475 baddate uses EST). */
export function parseDate(value: string): Parsed<Date> {
  const m = RFC1123.exec(trimWs(value));
  if (m === null) return bad('bad Date');
  const [, , d, mon, y, hh, mm, ss] = m as unknown as [string, string, string, string, string, string, string, string];
  const t = Date.UTC(Number(y), MONTHS.indexOf(mon), Number(d), Number(hh), Number(mm), Number(ss));
  const date = new Date(t);
  if (Number.isNaN(t) || date.getUTCDate() !== Number(d) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 60) return bad('bad Date');
  return ok(date);
}
