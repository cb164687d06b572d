import { describe, expect, it } from 'vitest';
import {
  NameAddr, SipUri, Via, canonicalName, headerKey, parseCSeq, parseCallId, parseContact, parseContentLength, parseDate,
  parseMaxForwards, parseMediaType, parseNameAddr, parseNameAddrList, parseTokenList, parseVia, splitList, type Parsed,
} from '../../../../src/sip/message/index.ts';

function value<T>(p: Parsed<T>): T {
  if (!p.ok) throw new Error(p.reason);
  return p.value;
}

describe('header names', () => {
  it.each([
    ['i', 'call-id', 'Call-ID'], ['m', 'contact', 'Contact'], ['e', 'content-encoding', 'Content-Encoding'],
    ['l', 'content-length', 'Content-Length'], ['c', 'content-type', 'Content-Type'], ['f', 'from', 'From'], ['t', 'to', 'To'],
    ['v', 'via', 'Via'], ['k', 'supported', 'Supported'], ['s', 'subject', 'Subject'], ['r', 'refer-to', 'Refer-To'],
    ['o', 'event', 'Event'], ['u', 'allow-events', 'Allow-Events'], ['x', 'session-expires', 'Session-Expires'],
    ['y', 'identity', 'Identity'], ['b', 'referred-by', 'Referred-By'], ['CSEQ', 'cseq', 'CSeq'], ['www-authenticate', 'www-authenticate', 'WWW-Authenticate'],
  ])('%s -> %s (%s)', (name, key, canonical) => {
    expect(headerKey(name)).toBe(key);
    expect(canonicalName(key, name)).toBe(canonical);
  });

  it('keeps unknown names as given', () => {
    expect(canonicalName(headerKey('X-My-Header'), 'X-My-Header')).toBe('X-My-Header');
  });

  it('splits lists outside quotes and angle brackets only', () => {
    expect(splitList('"a, \\"b" <sip:x@y>, <sip:a@b;p=1,2>, , c')).toEqual(['"a, \\"b" <sip:x@y>', '<sip:a@b;p=1,2>', 'c']);
  });
});

describe('Via (RFC 3261 §20.42, RFC 3581)', () => {
  it('parses protocol, transport, sent-by and parameters', () => {
    const [v] = value(parseVia('SIP/2.0/TCP [2001:db8::5]:5061;branch=z9hG4bKx;received=2001:db8::9;rport=5062;maddr=224.2.0.1;ttl=16;x'));
    expect([v?.protocolName, v?.protocolVersion, v?.transport, v?.host, v?.port]).toEqual(['SIP', '2.0', 'TCP', '2001:db8::5', 5061]);
    expect([v?.branch, v?.received, v?.rport, v?.maddr, v?.ttl, v?.params.get('x')]).toEqual(['z9hG4bKx', '2001:db8::9', 5062, '224.2.0.1', 16, null]);
    expect(v?.hasRfc3261Branch).toBe(true);
    expect(v?.sentBy).toBe('[2001:db8::5]:5061');
  });

  it('reads rport without a value, lower-case transports and several vias', () => {
    const vias = value(parseVia('SIP/2.0/udp a.example.com;rport;branch=z9hG4bK1 , SIP / 2.0 / tcp b.example.com : 5080'));
    expect(vias.map((v) => [v.transport, v.host, v.port, v.rport])).toEqual([['UDP', 'a.example.com', undefined, true], ['TCP', 'b.example.com', 5080, undefined]]);
  });

  it('writes itself back', () => {
    const v = new Via('udp', '::1', 5060);
    v.branch = 'z9hG4bKabc';
    v.rport = true;
    expect(v.toString()).toBe('SIP/2.0/UDP [::1]:5060;branch=z9hG4bKabc;rport');
    v.rport = 40000;
    v.received = '127.0.0.1';
    expect(v.toString()).toBe('SIP/2.0/UDP [::1]:5060;branch=z9hG4bKabc;rport=40000;received=127.0.0.1');
    expect(value(parseVia(v.toString()))[0]?.toString()).toBe(v.toString());
  });

  it.each([
    'SIP/2.0 host', 'SIP/2.0/UDP', 'SIP/2.0/UDP host:70000', 'SIP/2.0/UDP host;;', 'SIP/2.0/UDP host;branch', 'SIP/2.0/UDP host;ttl=300',
    'SIP/2.0/UDP host;rport=x', 'SIP/2.0/UDP host;received=not_an@ip', 'SIP/2.0/UDP host,', 'SIP/2.0/UDP host junk', 'SIP/2.0/UDP [::1',
  ])('rejects %s', (s) => {
    expect(parseVia(s).ok).toBe(false);
  });
});

describe('name-addr and addr-spec (From, To, Contact, Route)', () => {
  it('reads quoted display names with escapes, token display names and none', () => {
    const q = value(parseNameAddr('"A \\"quoted\\" \\\\ name" <sip:a@example.com>;tag=1'));
    expect([q.displayName, q.tag]).toEqual(['A "quoted" \\ name', '1']);
    const t = value(parseNameAddr('Alice  Smith <sip:a@example.com>'));
    expect(t.displayName).toBe('Alice Smith');
    const none = value(parseNameAddr('<sip:a@example.com>'));
    expect(none.displayName).toBeUndefined();
    expect(value(parseNameAddr('"" <sip:a@example.com>')).displayName).toBe('');
  });

  it('gives parameters after an addr-spec to the header, inside <> to the URI', () => {
    const bare = value(parseNameAddr('sip:a@example.com;tag=x;user=phone'));
    expect([bare.tag, bare.params.get('user'), (bare.uri as SipUri).params.size]).toEqual(['x', 'phone', 0]);
    const angled = value(parseNameAddr('<sip:a@example.com;user=phone>;tag=x'));
    expect([angled.tag, (angled.uri as SipUri).userParam]).toEqual(['x', 'phone']);
  });

  it('keeps quoted parameter values raw', () => {
    const c = value(parseNameAddr('<sip:a@b>;+sip.instance="<urn:uuid:1>";reg-id=1'));
    expect(c.params.get('+sip.instance')).toBe('"<urn:uuid:1>"');
    expect(c.toString()).toBe('<sip:a@b>;+sip.instance="<urn:uuid:1>";reg-id=1');
  });

  it('writes the name-addr form', () => {
    const n = new NameAddr(new SipUri({ user: 'bob', host: 'example.com' }), 'Bob "B"');
    n.tag = 'abc';
    expect(n.toString()).toBe('"Bob \\"B\\"" <sip:bob@example.com>;tag=abc');
    expect(value(parseNameAddr(n.toString())).displayName).toBe('Bob "B"');
  });

  it('parses lists and the Contact wildcard', () => {
    const routes = value(parseNameAddrList('<sip:p1.example.com;lr>,<sip:p2.example.com;lr> , "x, y" <sip:p3.example.com>'));
    expect(routes.map((r) => (r.uri as SipUri).host)).toEqual(['p1.example.com', 'p2.example.com', 'p3.example.com']);
    expect(value(parseContact(' * '))).toEqual({ wildcard: true, values: [] });
    const contacts = value(parseContact('<sip:a@b>;expires=0;q=0.5, sip:c@d;expires=99999999999'));
    expect(contacts.wildcard).toBe(false);
    expect(contacts.values.map((c) => [c.expires, c.q])).toEqual([[0, 0.5], [undefined, undefined]]);
  });

  it.each([
    '"unterminated <sip:a@b>', 'Bell, Alexander <sip:a@b>', '< sip:a@b >', '<sip:a@b', 'sip:a@b?x=y', '<sip:a@b>;;', '<sip:a@b>;tag=',
    '<sip:a@b> junk', 'display only', '',
  ])('rejects %s', (s) => {
    expect(parseNameAddr(s).ok).toBe(false);
  });
});

describe('simple header values', () => {
  it('CSeq', () => {
    expect(value(parseCSeq(' 0009   INVITE '))).toEqual({ seq: 9, method: 'INVITE' });
    expect(value(parseCSeq('2147483647 ACK')).seq).toBe(2147483647);
    for (const bad of ['2147483648 ACK', 'INVITE', '1', '1 IN VITE', '-1 ACK', '36893488147419103232 REGISTER']) expect(parseCSeq(bad).ok).toBe(false);
  });

  it('Max-Forwards and Content-Length', () => {
    expect([value(parseMaxForwards('0068')), value(parseMaxForwards('0'))]).toEqual([68, 0]);
    for (const bad of ['256', '300', '-1', 'x', '']) expect(parseMaxForwards(bad).ok).toBe(false);
    expect(value(parseContentLength(' 0150 '))).toBe(150);
    for (const bad of ['-999', '1.5', '', '1 2']) expect(parseContentLength(bad).ok).toBe(false);
  });

  it('Call-ID', () => {
    expect(value(parseCallId(' a@b '))).toBe('a@b');
    for (const bad of ['', 'a b', 'a\u00e9']) expect(parseCallId(bad).ok).toBe(false);
  });

  it('token lists and media types', () => {
    expect(value(parseTokenList('timer, 100rel,replaces'))).toEqual(['timer', '100rel', 'replaces']);
    expect(value(parseTokenList(''))).toEqual([]);
    expect(parseTokenList('a b').ok).toBe(false);
    const mt = value(parseMediaType('Multipart/Mixed ; boundary="x y"'));
    expect([mt.mime, mt.params.get('boundary')]).toEqual(['multipart/mixed', '"x y"']);
    expect(parseMediaType('application').ok).toBe(false);
  });

  it('Date is rfc1123 in GMT only', () => {
    expect(value(parseDate('Sat, 13 Nov 2010 23:29:00 GMT')).toISOString()).toBe('2010-11-13T23:29:00.000Z');
    for (const bad of ['Fri, 01 Jan 2010 16:00:00 EST', 'Fri, 31 Feb 2010 16:00:00 GMT', '01 Jan 2010 16:00:00 GMT']) expect(parseDate(bad).ok).toBe(false);
  });
});
