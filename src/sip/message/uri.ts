import { URIC, isAll } from './char-classes.ts';
import { Lexer } from './lexer.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { SipParams } from './sip-params.ts';
import { SipUri, parseSipUri } from './sip-uri.ts';
import { parseGenericParams } from './generic-params.ts';

/** A `tel:` URI (RFC 3966): the number as written (visual separators kept) and its parameters. */
export class TelUri {
  readonly scheme = 'tel';
  number: string;
  params: SipParams;

  constructor(number: string, params = new SipParams()) {
    this.number = number;
    this.params = params;
  }

  /** A global number starts with '+'; a local one needs a `phone-context`. */
  get isGlobal(): boolean {
    return this.number.startsWith('+');
  }

  /** The number without visual separators (`-`, `.`, `(`, `)`). */
  get digits(): string {
    return this.number.replace(/[-.()]/g, '');
  }

  clone(): TelUri {
    return new TelUri(this.number, this.params.clone());
  }

  toString(): string {
    return `tel:${this.number}${this.params.format()}`;
  }
}

/**
 * A URI of any other scheme (RFC 4475 unkscm, novelsc, unksm2): kept opaque so an element can
 * answer 416 Unsupported URI Scheme, or carry it in From/To where any absoluteURI is allowed.
 */
export class AbsoluteUri {
  /** Lower-cased scheme. */
  readonly scheme: string;
  /** Everything after the first ':'. */
  readonly opaque: string;

  constructor(scheme: string, opaque: string) {
    this.scheme = scheme.toLowerCase();
    this.opaque = opaque;
  }

  clone(): AbsoluteUri {
    return new AbsoluteUri(this.scheme, this.opaque);
  }

  toString(): string {
    return `${this.scheme}:${this.opaque}`;
  }
}

export type Uri = SipUri | TelUri | AbsoluteUri;

/** Whether `uri` is a SIP or SIPS URI (has host, user, params). */
export function isSipUri(uri: Uri): uri is SipUri {
  return uri instanceof SipUri;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const TEL_NUMBER = /^(\+[0-9().-]*[0-9][0-9().-]*|[0-9A-Fa-f*#().-]*[0-9A-Fa-f*#][0-9A-Fa-f*#().-]*)$/;

/**
 * Parses a URI: `sip:`/`sips:` into a SipUri, `tel:` into a TelUri, any other well-formed
 * absoluteURI into an AbsoluteUri. No white space is allowed anywhere.
 */
export function parseUri(s: string): Parsed<Uri> {
  const colon = s.indexOf(':');
  if (colon <= 0 || colon === s.length - 1) return bad('not a URI');
  const scheme = s.slice(0, colon);
  if (!SCHEME.test(scheme)) return bad('invalid URI scheme');
  const lower = scheme.toLowerCase();
  if (lower === 'sip' || lower === 'sips') return parseSipUri(s, colon);
  if (lower === 'tel') return parseTelUri(s, colon + 1);
  if (!isAll(s.slice(colon + 1), URIC)) return bad('invalid character in URI');
  return ok(new AbsoluteUri(scheme, s.slice(colon + 1)));
}

function parseTelUri(s: string, start: number): Parsed<TelUri> {
  let semi = s.indexOf(';', start);
  if (semi < 0) semi = s.length;
  if (/[ \t]/.test(s)) return bad('white space in tel URI');
  const number = s.slice(start, semi);
  if (!TEL_NUMBER.test(number)) return bad('invalid telephone number');
  const params = new SipParams();
  const lx = new Lexer(s, semi);
  // tel parameters share the generic name[=value] shape; values may hold more than tokens.
  if (!parseGenericParams(lx, params, true) || !lx.done) return bad('invalid tel URI parameter');
  return ok(new TelUri(number, params));
}
