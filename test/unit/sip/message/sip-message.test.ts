import { describe, expect, it } from 'vitest';
import { CallroomError } from '../../../../src/core/errors.ts';
import { SipMessage, SipUri, createResponse, newBranch, newCallId, newTag, parseMessage, reasonPhrase } from '../../../../src/sip/message/index.ts';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n';
const INVITE =
  'INVITE sip:agent@127.0.0.1:5080 SIP/2.0\r\n' +
  'v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa1;rport, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa0\r\n' +
  'Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp;received=192.0.2.7\r\n' +
  'Max-Forwards: 70\r\n' +
  'f: "Doe, Jane" <sip:jane@example.com>;tag=abc\r\n' +
  't: <sip:agent@example.com>\r\n' +
  'i: call-1@127.0.0.1\r\n' +
  'CSEQ: 7 INVITE\r\n' +
  'm: <sip:jane@127.0.0.1:5070>;expires=60\r\n' +
  'Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n' +
  'Timestamp: 54\r\n' +
  'Authorization: Digest username="jane", realm="x", nonce="n", uri="sip:agent@127.0.0.1", response="r"\r\n' +
  'Date: Sat, 15 Oct 2005 04:44:56 GMT\r\n' +
  'k: timer, 100rel\r\n' +
  'www-authenticate: Digest realm="x", nonce="y"\r\n' +
  'c: application/sdp\r\n' +
  `l: ${SDP.length}\r\n` +
  '\r\n' +
  SDP;

function invite(): SipMessage {
  const r = parseMessage(Buffer.from(INVITE));
  if (!r.ok) throw new Error(r.error.reason);
  return r.message;
}

describe('SipMessage headers', () => {
  it('looks headers up case-insensitively and by compact form', () => {
    const m = invite();
    for (const name of ['Call-ID', 'call-id', 'CALL-ID', 'i', 'I']) expect(m.get(name)).toBe('call-1@127.0.0.1');
    expect(m.get('cseq')).toBe('7 INVITE');
    expect(m.has('x-missing')).toBe(false);
    expect(m.get('x-missing')).toBeUndefined();
  });

  it('writes canonical names', () => {
    const text = invite().toString();
    for (const name of ['Via:', 'From:', 'To:', 'Call-ID:', 'CSeq:', 'Contact:', 'Supported:', 'WWW-Authenticate:', 'Content-Type:', 'Content-Length:']) {
      expect(text).toContain(`\r\n${name} `);
    }
    expect(text).not.toMatch(/\r\n[vftimkcl]: /);
  });

  it('splits list headers at commas outside quotes and brackets, and only list headers', () => {
    const m = invite();
    expect(m.getAll('Via')).toHaveLength(3);
    expect(m.get('Via')).toBe('SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa1;rport');
    expect(m.getAll('Record-Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(m.getAll('Supported')).toEqual(['timer', '100rel']);
    expect(m.getAll('Authorization')).toHaveLength(1);
    expect(m.getAll('WWW-Authenticate')).toEqual(['Digest realm="x", nonce="y"']);
    expect(m.getAll('Date')).toEqual(['Sat, 15 Oct 2005 04:44:56 GMT']);
    expect(m.getAll('From')).toEqual(['"Doe, Jane" <sip:jane@example.com>;tag=abc']);
    expect(m.from?.displayName).toBe('Doe, Jane');
  });

  it('gives structured values', () => {
    const m = invite();
    expect(m.vias.map((v) => v.sentBy)).toEqual(['127.0.0.1:5070', '10.0.0.1', 'proxy.example.com']);
    expect(m.topVia?.rport).toBe(true);
    expect(m.vias[2]?.received).toBe('192.0.2.7');
    expect(m.cseq).toEqual({ seq: 7, method: 'INVITE' });
    expect(m.contacts[0]?.expires).toBe(60);
    expect(m.recordRoutes.map((r) => (r.uri as SipUri).host)).toEqual(['p1.example.com', 'p2.example.com']);
    expect(m.parsed('supported')).toEqual({ ok: true, value: ['timer', '100rel'] });
    expect(m.parsed('date')?.ok && m.parsed('date')).toMatchObject({ value: new Date(Date.UTC(2005, 9, 15, 4, 44, 56)) });
    expect(m.parsed('require')).toBeUndefined();
    expect(Buffer.from(m.body).toString()).toBe(SDP);
  });

  it('caches structured values until the header changes', () => {
    const m = invite();
    const first = m.to;
    expect(m.to).toBe(first);
    m.set('To', '<sip:other@example.com>;tag=t1');
    expect(m.to).not.toBe(first);
    expect(m.to?.tag).toBe('t1');
  });

  it('set, append, prepend, delete, shift and replaceFirst', () => {
    const m = invite();
    m.prepend('Via', 'SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKtop');
    expect(m.topVia?.branch).toBe('z9hG4bKtop');
    expect(m.headers[0]?.name).toBe('Via');
    expect(m.shift('Via')).toBe('SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bKtop');
    // The first line holds two vias: replacing the first keeps the second on that line.
    const top = m.topVia?.clone();
    if (top === undefined) throw new Error('no Via');
    top.received = '127.0.0.2';
    top.rport = 5070;
    expect(m.replaceFirst('Via', top)).toBe(true);
    expect(m.lines('Via')[0]).toBe('SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKa1;rport=5070;received=127.0.0.2, SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa0');
    expect(m.topVia?.received).toBe('127.0.0.2');
    expect(m.vias).toHaveLength(3);
    m.append('X-Trace', 'one');
    m.append('x-trace', 'two');
    expect(m.getAll('X-Trace')).toEqual(['one', 'two']);
    m.set('X-Trace', ['three']);
    expect(m.getAll('x-trace')).toEqual(['three']);
    expect(m.delete('x-trace')).toBe(1);
    expect(m.replaceFirst('x-trace', 'z')).toBe(false);
    expect(m.shift('Route')).toBeUndefined();
  });

  it('refuses header names and values that would break the wire format', () => {
    const m = invite();
    expect(() => m.set('X-Bad', 'a\r\nInjected: yes')).toThrow(CallroomError);
    expect(() => m.append('Bad Name', 'x')).toThrow(CallroomError);
    expect(() => SipMessage.request('IN VITE', 'sip:a@b')).toThrow(CallroomError);
    expect(() => SipMessage.response(1000, 'x')).toThrow(CallroomError);
  });

  it('clone is independent of the original', () => {
    const m = invite();
    const c = m.clone();
    c.set('Call-ID', 'other');
    c.requestUri = 'sip:x@example.com';
    expect(m.callId).toBe('call-1@127.0.0.1');
    expect(m.requestUri).toBe('sip:agent@127.0.0.1:5080');
    expect(c.callId).toBe('other');
  });
});

describe('serialisation', () => {
  it('computes Content-Length from the body, at the position of the old one', () => {
    const m = invite();
    m.body = Buffer.from('hello');
    const text = m.toString();
    expect(text).toContain('\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nhello');
    expect(text.match(/Content-Length/g)).toHaveLength(1);
  });

  it('adds Content-Length: 0 when there is none and no body', () => {
    const m = SipMessage.request('OPTIONS', 'sip:a@example.com').append('Via', 'SIP/2.0/UDP h;branch=z9hG4bK1').append('CSeq', '1 OPTIONS');
    expect(m.toString()).toBe('OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
  });

  it('passes binary bodies through byte for byte', () => {
    const body = new Uint8Array(256).map((_, i) => i);
    const m = SipMessage.response(200, 'OK').append('Content-Type', 'application/octet-stream');
    m.body = body;
    const wire = m.toBuffer();
    expect(wire.subarray(wire.length - 256).equals(Buffer.from(body))).toBe(true);
    const back = parseMessage(wire, { validate: false });
    expect(back.ok && Buffer.from(back.message.body).equals(Buffer.from(body))).toBe(true);
  });

  it('writes a Request-URI set from a SipUri', () => {
    const m = SipMessage.request('INVITE', new SipUri({ user: 'a b', host: '2001:db8::1', port: 5060 }));
    expect(m.requestUri).toBe('sip:a%20b@[2001:db8::1]:5060');
    expect((m.uri as SipUri).user).toBe('a b');
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies Via, From, To, Call-ID and CSeq, and adds the To tag', () => {
    const req = invite();
    const res = createResponse(req, 180, undefined, { toTag: 'srv' });
    expect(res.startLine()).toBe('SIP/2.0 180 Ringing');
    expect(res.lines('Via')).toEqual(req.lines('Via'));
    expect(res.get('From')).toBe(req.get('From'));
    expect(res.get('To')).toBe('<sip:agent@example.com>;tag=srv');
    expect(res.to?.tag).toBe('srv');
    expect(res.callId).toBe('call-1@127.0.0.1');
    expect(res.cseq).toEqual({ seq: 7, method: 'INVITE' });
    for (const other of ['Contact', 'Max-Forwards', 'Record-Route', 'Timestamp', 'Authorization', 'Content-Type']) expect(res.has(other)).toBe(false);
    expect(res.body.length).toBe(0);
    const wire = parseMessage(res.toBuffer());
    expect(wire.ok).toBe(true);
  });

  it('keeps an existing To tag, copies Timestamp into 100 and Record-Route when asked', () => {
    const req = invite();
    req.set('To', '<sip:agent@example.com>;tag=existing');
    const trying = createResponse(req, 100, undefined, { toTag: 'new' });
    expect(trying.to?.tag).toBe('existing');
    expect(trying.get('Timestamp')).toBe('54');
    expect(trying.reason).toBe('Trying');
    const ok = createResponse(req, 200, 'Fine', { copyRecordRoute: true });
    expect(ok.reason).toBe('Fine');
    expect(ok.getAll('Record-Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(ok.has('Timestamp')).toBe(false);
  });

  it('refuses a To tag that is not a token', () => {
    expect(() => createResponse(invite(), 200, undefined, { toTag: 'a;b' })).toThrow(CallroomError);
  });

  it('has default reason phrases', () => {
    expect([reasonPhrase(486), reasonPhrase(513), reasonPhrase(499), reasonPhrase(299)]).toEqual(['Busy Here', 'Message Too Large', 'Client Error', 'Success']);
  });
});

describe('identifiers', () => {
  it('branches carry the magic cookie and ids do not repeat', () => {
    const branches = new Set(Array.from({ length: 2000 }, () => newBranch()));
    expect(branches.size).toBe(2000);
    for (const b of branches) expect(b).toMatch(/^z9hG4bK[A-Za-z0-9_-]{16}$/);
    expect(newTag()).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(newCallId('127.0.0.1')).toMatch(/^[A-Za-z0-9_-]{24}@127\.0\.0\.1$/);
  });
});
