import {
  parseCSeq, parseCallId, parseContentLength, parseDate, parseDeltaSecondsHeader, parseMaxForwards, parseMediaType,
  parseMediaTypeList, parseTokenList, type CSeq, type MediaType,
} from './header-values.ts';
import { parseContact, parseNameAddr, parseNameAddrList, type ContactList, type NameAddr } from './name-addr.ts';
import { bad, ok, type Parsed } from './parsed.ts';
import { parseVia, type Via } from './via.ts';

/** Structured type of each header `SipMessage.parsed()` knows, by lower-case key. */
export interface HeaderTypes {
  via: Via[];
  from: NameAddr;
  to: NameAddr;
  'call-id': string;
  cseq: CSeq;
  'max-forwards': number;
  'content-length': number;
  'content-type': MediaType;
  contact: ContactList;
  route: NameAddr[];
  'record-route': NameAddr[];
  path: NameAddr[];
  'service-route': NameAddr[];
  'p-asserted-identity': NameAddr[];
  'p-preferred-identity': NameAddr[];
  'refer-to': NameAddr;
  'referred-by': NameAddr;
  'reply-to': NameAddr;
  accept: MediaType[];
  require: string[];
  'proxy-require': string[];
  supported: string[];
  unsupported: string[];
  allow: string[];
  'allow-events': string[];
  expires: number;
  'min-expires': number;
  date: Date;
}

export type HeaderKey = keyof HeaderTypes;

/** Parses the first line only: a single-valued header (duplicates are `checkRequest`'s concern). */
function first<T>(parse: (v: string) => Parsed<T>): (lines: readonly string[]) => Parsed<T> {
  return (lines) => parse(lines[0] as string);
}

/** Parses every line and concatenates: repeated list headers are one list (RFC 3261 §7.3.1). */
function all<T>(parse: (v: string) => Parsed<T[]>): (lines: readonly string[]) => Parsed<T[]> {
  return (lines) => {
    if (lines.length === 1) return parse(lines[0] as string);
    const out: T[] = [];
    for (const line of lines) {
      const p = parse(line);
      if (!p.ok) return p;
      for (const v of p.value) out.push(v);
    }
    return ok(out);
  };
}

function contacts(lines: readonly string[]): Parsed<ContactList> {
  if (lines.length === 1) return parseContact(lines[0] as string);
  const values: NameAddr[] = [];
  for (const line of lines) {
    const p = parseContact(line);
    if (!p.ok) return p;
    if (p.value.wildcard) return bad('Contact * mixed with other contacts');
    for (const v of p.value.values) values.push(v);
  }
  return ok({ wildcard: false, values });
}

export const HEADER_PARSERS: { readonly [K in HeaderKey]: (lines: readonly string[]) => Parsed<HeaderTypes[K]> } = {
  via: all(parseVia),
  from: first(parseNameAddr),
  to: first(parseNameAddr),
  'call-id': first(parseCallId),
  cseq: first(parseCSeq),
  'max-forwards': first(parseMaxForwards),
  'content-length': first(parseContentLength),
  'content-type': first(parseMediaType),
  contact: contacts,
  route: all(parseNameAddrList),
  'record-route': all(parseNameAddrList),
  path: all(parseNameAddrList),
  'service-route': all(parseNameAddrList),
  'p-asserted-identity': all(parseNameAddrList),
  'p-preferred-identity': all(parseNameAddrList),
  'refer-to': first(parseNameAddr),
  'referred-by': first(parseNameAddr),
  'reply-to': first(parseNameAddr),
  accept: all(parseMediaTypeList),
  require: all(parseTokenList),
  'proxy-require': all(parseTokenList),
  supported: all(parseTokenList),
  unsupported: all(parseTokenList),
  allow: all(parseTokenList),
  'allow-events': all(parseTokenList),
  expires: first(parseDeltaSecondsHeader),
  'min-expires': first(parseDeltaSecondsHeader),
  date: first(parseDate),
};
