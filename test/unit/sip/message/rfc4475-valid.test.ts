import { describe, expect, it } from 'vitest';
import { AbsoluteUri, SipUri, parseMessage, type SipMessage, type Uri } from '../../../../src/sip/message/index.ts';
import { VALID, torture } from './torture.ts';

/** Parses a torture message that must be accepted. */
function parse(name: string): SipMessage {
  const r = parseMessage(torture(name));
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.reason}`);
  return r.message;
}

function sip(uri: Uri | undefined): SipUri {
  expect(uri).toBeInstanceOf(SipUri);
  return uri as SipUri;
}

/** Body octets of a fixture: everything after the first empty line. */
function rawBody(name: string): Buffer {
  const buf = torture(name);
  return buf.subarray(buf.indexOf('\r\n\r\n') + 4);
}

describe('RFC 4475 §3.1.1 valid messages', () => {
  it('wsinv: odd white space, folding, escaped quotes and compact forms', () => {
    const m = parse('wsinv');
    expect(m.method).toBe('INVITE');
    const uri = sip(m.uri);
    expect([uri.user, uri.host, uri.params.has('unknownparam')]).toEqual(['vivekg', 'chair-dnrc.example.com', true]);
    expect(m.to?.tag).toBe('1918181833n');
    expect(sip(m.to?.uri).user).toBe('vivekg');
    expect(m.from?.displayName).toBe('J Rosenberg \\"');
    expect(m.from?.tag).toBe('98asjd8');
    expect(m.maxForwards).toBe(68);
    expect(m.cseq).toEqual({ seq: 9, method: 'INVITE' });
    expect(m.callId).toBe('wsinv.ndaksdj@192.0.2.1');
    expect(m.vias.map((v) => [v.transport, v.host, v.port, v.branch])).toEqual([
      ['UDP', '192.0.2.2', undefined, '390skdjuw'],
      ['TCP', 'spindle.example.com', undefined, 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', undefined, 'z9hG4bK30239'],
    ]);
    expect(m.topVia?.hasRfc3261Branch).toBe(false);
    expect(m.get('s')).toBe('');
    expect(m.get('newfangledheader')).toBe('newfangled value continued newfangled value');
    expect(m.get('UnknownHeaderWithUnusualValue')).toBe(';;,,;;,;');
    expect(m.routes).toHaveLength(1);
    expect(sip(m.routes[0]?.uri).lr).toBe(true);
    expect(sip(m.routes[0]?.uri).params.get('unknownwith')).toBe('value');
    const contact = m.contacts[0];
    expect(contact?.displayName).toBe('Quoted string ""');
    expect([...(contact?.params ?? [])]).toEqual([['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']]);
    expect(contact?.q).toBe(0.33);
    expect(m.contentType?.mime).toBe('application/sdp');
    expect(m.body.length).toBe(150);
  });

  it('intmeth: unusual method, URI user/password and token characters', () => {
    const m = parse('intmeth');
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    expect(m.method).toBe(method);
    expect(m.cseq).toEqual({ seq: 139122385, method });
    const uri = sip(m.uri);
    expect(uri.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(uri.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(uri.host).toBe('example.com');
    expect(m.topVia?.branch).toBe("z9hG4bK-.!%66*_+`'~");
    expect(m.to?.displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(sip(m.to?.uri).user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(m.from?.displayName).toBe("token1~` token2'+_ token3*%!.-");
    expect(m.from?.params.get("fromParam''~+*_!.-%")).toBe('"работающий"');
    expect(m.from?.tag).toBe("_token~1'+`*%!-.");
    expect(m.callId).toBe('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    expect(m.maxForwards).toBe(255);
    expect(m.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
    expect(m.body.length).toBe(0);
  });

  it('esc01: escaped characters in URIs compare decoded', () => {
    const m = parse('esc01');
    const uri = sip(m.uri);
    expect([uri.user, uri.host]).toEqual(['sips:user@example.com', 'example.net']);
    expect(sip(m.to?.uri).user).toBe('user');
    expect(sip(m.from?.uri).user).toBe('I have spaces');
    expect(m.from?.tag).toBe('938');
    const contact = sip(m.contacts[0]?.uri);
    expect(contact.user).toBe('caller');
    expect([...contact.params]).toEqual([['lr', null], ['name', 'value%41']]);
    expect(contact.lr).toBe(true);
    expect(m.callId).toBe('esc01.239409asdfakjkn23onasd0-3234');
    expect(m.contentType?.mime).toBe('application/sdp');
    expect(m.body.length).toBe(150);
  });

  it('escnull: %00 in user parts', () => {
    const m = parse('escnull');
    expect(sip(m.to?.uri).user).toBe('null-\x00-null');
    expect(sip(m.from?.uri).user).toBe('null-\x00-null');
    expect(m.contacts.map((c) => sip(c.uri).user)).toEqual(['\x00', '\x00\x00']);
    expect(m.contacts[0]?.uri.toString()).toBe('sip:%00@host5.example.com');
    expect(m.get('Content-Length')).toBe('0');
  });

  it('esc02: % in method and header names is literal', () => {
    const m = parse('esc02');
    expect(m.method).toBe('RE%47IST%45R');
    expect(m.cseq?.method).toBe('RE%47IST%45R');
    expect(m.to?.displayName).toBe('%Z%45');
    expect(m.contacts.map((c) => sip(c.uri).host)).toEqual(['host1.example.com', 'host3.example.com']);
    expect(m.get('C%6Fntact')).toBe('<sip:alias2@host2.example.com>');
    expect(m.topVia?.transport).toBe('TCP');
    expect(m.topVia?.branch).toBe('z9hG4bK209%fzsnel234');
  });

  it('lwsdisp: display name without white space before <', () => {
    const m = parse('lwsdisp');
    expect(m.from?.displayName).toBe('caller');
    expect(sip(m.from?.uri).user).toBe('caller');
    expect(m.from?.tag).toBe('323');
  });

  it('longreq: long values and 34 Via entries in many spellings', () => {
    const m = parse('longreq');
    expect(m.to?.displayName).toBe(`I have a user name of ${'extreme'.repeat(10)} proportion`);
    const to = sip(m.to?.uri);
    expect(to.port).toBe(6000);
    expect(to.params.get('unknownparam1')).toBe(`very${'long'.repeat(20)}value`);
    expect(to.params.get(`longparam${'name'.repeat(25)}`)).toBe('shortvalue');
    expect(to.params.get(`very${'long'.repeat(25)}ParameterNameWithNoValue`)).toBeNull();
    expect(sip(m.from?.uri).user).toBe('amazinglylongcallername'.repeat(5));
    expect(m.from?.tag).toBe(`12${'982'.repeat(50)}424`);
    expect(m.callId).toBe(`longreq.one${'really'.repeat(20)}longcallid`);
    const vias = m.vias;
    expect(vias).toHaveLength(34);
    expect(vias.slice(0, 33).map((v) => v.host)).toEqual(Array.from({ length: 33 }, (_, i) => `sip${33 - i}.example.com`));
    const last = vias[33];
    expect(last?.host).toBe('host.example.com');
    expect(last?.received).toBe('192.0.2.5');
    expect(last?.branch).toBe(`very${'long'.repeat(50)}branchvalue`);
    expect(m.lines('via')).toHaveLength(34);
    expect(m.has(`Unknown-${'Long'.repeat(20)}-Name`)).toBe(true);
    expect(sip(m.contacts[0]?.uri).user).toBe('amazinglylongcallername'.repeat(5));
    expect(m.body.length).toBe(150);
  });

  it('dblreq: only the first message of the datagram is taken', () => {
    const m = parse('dblreq');
    expect(m.method).toBe('REGISTER');
    expect(m.callId).toBe('dblreq.0ha0isndaksdj99sdfafnl3lk233412');
    expect(m.body.length).toBe(0);
  });

  it('semiuri: ; in the user part of a Request-URI', () => {
    const m = parse('semiuri');
    const uri = sip(m.uri);
    expect([uri.user, uri.host, uri.params.size]).toEqual(['user;par=u@example.net', 'example.com', 0]);
    expect(m.getAll('Accept')).toEqual([
      'application/sdp', 'application/pkcs7-mime', 'multipart/mixed', 'multipart/signed', 'message/sip', 'message/sipfrag',
    ]);
    expect(m.parsed('accept')?.ok).toBe(true);
  });

  it('transports: Via transports including unknown ones', () => {
    const m = parse('transports');
    expect(m.vias.map((v) => v.transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    expect(m.callId).toBe('transports.kijh4akdnaqjkwendsasfdj');
  });

  it('mpart01: a binary multipart body passes through untouched', () => {
    const m = parse('mpart01');
    expect(m.method).toBe('MESSAGE');
    expect(Buffer.from(m.body).equals(rawBody('mpart01'))).toBe(true);
    expect(m.body.length).toBe(553);
    expect(m.contentType?.mime).toBe('multipart/mixed');
    expect(m.contentType?.params.get('boundary')).toBe('7a9cbec02ceef655');
    expect(m.topVia?.rport).toBe(true);
    expect(m.topVia?.sentBy).toBe('127.0.0.1:5070');
    expect(m.parsed('date')?.ok).toBe(true);
    const again = parseMessage(m.toBuffer());
    expect(again.ok && Buffer.from(again.message.body).equals(rawBody('mpart01'))).toBe(true);
  });

  it('unreason: UTF-8 reason phrase', () => {
    const m = parse('unreason');
    expect(m.status).toBe(200);
    expect(m.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    expect(m.body.length).toBe(154);
  });

  it('noreason: empty reason phrase', () => {
    const m = parse('noreason');
    expect(m.status).toBe(100);
    expect(m.reason).toBe('');
    expect(m.to?.tag).toBe('902jndnke3');
  });

  it.each(VALID)('%s survives serialise -> parse with the same content', (name) => {
    const m = parse(name);
    const again = parseMessage(m.toBuffer());
    expect(again.ok).toBe(true);
    if (!again.ok) return;
    const a = again.message;
    expect(a.startLine()).toBe(m.startLine());
    expect(a.headers.filter((h) => h.key !== 'content-length')).toEqual(m.headers.filter((h) => h.key !== 'content-length'));
    expect(Buffer.from(a.body).equals(Buffer.from(m.body))).toBe(true);
    // Structured values re-serialise to something that parses to the same thing.
    for (const via of m.vias) expect(String(parseViaString(via.toString()))).toBe(via.toString());
  });
});

function parseViaString(s: string): string {
  const r = parseMessage(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nVia: ${s}\r\nContent-Length: 0\r\n\r\n`), { validate: false });
  return r.ok ? String(r.message.topVia) : 'unparsed';
}

describe('URI kinds in valid messages', () => {
  it('keeps an unknown scheme opaque', () => {
    const r = parseMessage(Buffer.from('OPTIONS urn:x:y SIP/2.0\r\nContent-Length: 0\r\n\r\n'), { validate: false });
    expect(r.ok && r.message.uri).toBeInstanceOf(AbsoluteUri);
  });
});
