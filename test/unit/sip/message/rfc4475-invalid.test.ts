import { describe, expect, it } from 'vitest';
import {
  AbsoluteUri, SipUri, checkRequest, createResponse, parseMessage, type SipMessage, type SipParseError,
} from '../../../../src/sip/message/index.ts';
import { INVALID, SEMANTIC, torture } from './torture.ts';

function reject(name: string): SipParseError {
  const r = parseMessage(torture(name));
  if (r.ok) throw new Error(`${name} was accepted`);
  return r.error;
}

function parse(name: string): SipMessage {
  const r = parseMessage(torture(name));
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.reason}`);
  return r.message;
}

/** What each RFC 4475 §3.1.2 message must produce: code, status (when a response can be sent) and reason. */
const EXPECTED: Record<(typeof INVALID)[number], [string, number | undefined, string]> = {
  badinv01: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed Via header'],
  clerr: ['CR_SIP_BODY_MISMATCH', 400, 'Bad Request - Content-Length mismatch'],
  ncl: ['CR_SIP_BAD_CONTENT_LENGTH', 400, 'Bad Request - Malformed Content-Length'],
  scalar02: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - CSeq number out of range'],
  scalarlg: ['CR_SIP_BAD_HEADER', undefined, 'CSeq number out of range'],
  quotbal: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed To header'],
  ltgtruri: ['CR_SIP_BAD_REQUEST_URI', 400, 'Bad Request - Malformed Request-URI'],
  lwsruri: ['CR_SIP_BAD_START_LINE', 400, 'Bad Request - Malformed Request-Line'],
  lwsstart: ['CR_SIP_BAD_START_LINE', 400, 'Bad Request - Malformed Request-Line'],
  trws: ['CR_SIP_BAD_START_LINE', 400, 'Bad Request - Malformed Request-Line'],
  escruri: ['CR_SIP_BAD_REQUEST_URI', 400, 'Bad Request - Headers in Request-URI'],
  baddate: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed Date header'],
  regbadct: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed Contact header'],
  badaspec: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed To header'],
  baddn: ['CR_SIP_BAD_HEADER', 400, 'Bad Request - Malformed From header'],
  badvers: ['CR_SIP_BAD_VERSION', 505, 'Version Not Supported'],
  mismatch01: ['CR_SIP_CSEQ_MISMATCH', 400, 'Bad Request - CSeq method mismatch'],
  mismatch02: ['CR_SIP_CSEQ_MISMATCH', 400, 'Bad Request - CSeq method mismatch'],
  bigcode: ['CR_SIP_BAD_START_LINE', undefined, 'Malformed Status-Line'],
};

describe('RFC 4475 §3.1.2 invalid messages', () => {
  it.each(INVALID)('%s is rejected with the expected outcome', (name) => {
    const error = reject(name);
    const [code, status, reason] = EXPECTED[name];
    expect({ code: error.code, status: error.status, reason: error.reason }).toEqual({ code, status, reason });
    expect(error.canRespond).toBe(status !== undefined);
  });

  it.each(INVALID.filter((n) => EXPECTED[n][1] !== undefined))('%s: a response can be built and sent', (name) => {
    const error = reject(name);
    const request = error.message as SipMessage;
    const res = createResponse(request, error.status as number, error.reason, { toTag: 'srv1' });
    const wire = parseMessage(res.toBuffer(), { validate: false });
    expect(wire.ok).toBe(true);
    if (!wire.ok) return;
    const m = wire.message;
    expect([m.status, m.reason]).toEqual([error.status, error.reason]);
    expect(m.lines('via')).toEqual(request.lines('via'));
    expect(m.get('cseq')).toBe(request.get('cseq'));
    expect(m.get('call-id')).toBe(request.get('call-id'));
    // A To that parses gets the tag; a malformed one (quotbal, badaspec) is copied untouched.
    const to = request.parsed('to');
    const tagged = to?.ok === true && to.value.tag === undefined;
    expect(m.get('to')).toBe(tagged ? `${request.get('to')};tag=srv1` : request.get('to'));
  });

  it('responses are never answered (scalarlg, bigcode)', () => {
    for (const name of ['scalarlg', 'bigcode']) expect(reject(name).canRespond).toBe(false);
  });
});

describe('RFC 4475 §3.2-3.4: messages that parse, for upper layers to judge', () => {
  it.each(SEMANTIC)('%s parses', (name) => {
    expect(parseMessage(torture(name)).ok).toBe(true);
  });

  it('badbranch: a bare magic cookie is not an RFC 3261 branch', () => {
    const via = parse('badbranch').topVia;
    expect(via?.branch).toBe('z9hG4bK');
    expect(via?.hasRfc3261Branch).toBe(false);
  });

  it('insuf: missing From, To, Call-ID and Max-Forwards are detected; a 400 can still be built', () => {
    const m = parse('insuf');
    expect([m.from, m.to, m.callId, m.maxForwards]).toEqual([undefined, undefined, undefined, undefined]);
    expect(checkRequest(m)).toEqual({ status: 400, reason: 'Bad Request - Missing From header', header: 'From' });
    const res = createResponse(m, 400, checkRequest(m)?.reason);
    expect(res.lines('via')).toEqual(m.lines('via'));
    expect(res.get('cseq')).toBe('193942 INVITE');
  });

  it('unkscm, novelsc: unknown Request-URI schemes are kept opaque', () => {
    const unk = parse('unkscm').uri;
    expect(unk).toBeInstanceOf(AbsoluteUri);
    expect([unk?.scheme, (unk as AbsoluteUri).opaque]).toEqual(['nobodyknowsthisscheme', 'totallyopaquecontent']);
    const novel = parse('novelsc').uri as AbsoluteUri;
    expect([novel.scheme, novel.opaque]).toEqual(['soap.beep', '//192.0.2.103:3002']);
  });

  it('unksm2: unknown schemes in To, From and Contact', () => {
    const m = parse('unksm2');
    expect(m.to?.uri.toString()).toBe('isbn:2983792873');
    expect(m.from?.uri.scheme).toBe('http');
    expect(m.from?.tag).toBe('3234233');
    expect(m.contacts[0]?.uri.toString()).toBe('name:John_Smith');
  });

  it('bext01: unknown Require and Proxy-Require option tags', () => {
    const m = parse('bext01');
    expect(m.parsed('require')).toEqual({ ok: true, value: ['nothingSupportsThis', 'nothingSupportsThisEither'] });
    expect(m.parsed('proxy-require')).toEqual({ ok: true, value: ['noProxiesSupportThis', 'norDoAnyProxiesSupportThis'] });
    expect(m.topVia?.transport).toBe('TLS');
  });

  it('invut: unknown Content-Type with its body', () => {
    const m = parse('invut');
    expect(m.contentType?.mime).toBe('application/unknownformat');
    expect(Buffer.from(m.body).toString()).toBe('<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n');
  });

  it('regaut01: Authorization of an unknown scheme is kept whole', () => {
    const m = parse('regaut01');
    expect(m.getAll('Authorization')).toEqual(['NoOneKnowsThisScheme opaque-data=here']);
  });

  it('multi01: repeated single-valued headers are detected', () => {
    const m = parse('multi01');
    expect(checkRequest(m)?.reason).toBe('Bad Request - Multiple From headers');
    expect(m.lines('cseq')).toEqual(['5 INVITE', '59 INVITE']);
    expect(m.cseq?.seq).toBe(5);
    const res = createResponse(m, 400, checkRequest(m)?.reason);
    expect(res.lines('cseq')).toEqual(['5 INVITE']);
    expect(res.lines('from')).toHaveLength(1);
  });

  it('mcl01: conflicting Content-Length values are detected', () => {
    const m = parse('mcl01');
    expect(checkRequest(m)?.reason).toBe('Bad Request - Conflicting Content-Length');
  });

  it('bcast: a response with a broadcast Via', () => {
    const m = parse('bcast');
    expect(m.status).toBe(200);
    expect(m.vias.map((v) => v.host)).toEqual(['192.0.2.198', '255.255.255.255']);
  });

  it('zeromf: Max-Forwards 0', () => {
    expect(parse('zeromf').maxForwards).toBe(0);
  });

  it('cparam01: an addr-spec Contact parameter belongs to the header', () => {
    const c = parse('cparam01').contacts[0];
    expect([...(c?.params ?? [])]).toEqual([['unknownparam', null]]);
    expect((c?.uri as SipUri).params.size).toBe(0);
  });

  it('cparam02: inside <> the parameter belongs to the URI', () => {
    const c = parse('cparam02').contacts[0];
    expect(c?.params.size).toBe(0);
    expect([...(c?.uri as SipUri).params]).toEqual([['unknownparam', null]]);
  });

  it('regescrt: an escaped Route header in a Contact URI', () => {
    const c = parse('regescrt').contacts[0]?.uri as SipUri;
    expect([...c.headers]).toEqual([['Route', '<sip:sip.example.com>']]);
    expect(c.toString()).toBe('sip:user@example.com?Route=%3Csip:sip.example.com%3E');
  });

  it('sdp01: Accept without application/sdp', () => {
    const accept = parse('sdp01').parsed('accept');
    expect(accept?.ok && accept.value.map((t) => t.mime)).toEqual(['text/nobodyknowsthis']);
  });

  it('inv2543: an RFC 2543 INVITE (no branch, no Max-Forwards, no Content-Length, no From tag)', () => {
    const m = parse('inv2543');
    expect(m.topVia?.branch).toBeUndefined();
    expect(m.topVia?.hasRfc3261Branch).toBe(false);
    expect(m.maxForwards).toBeUndefined();
    expect(m.from?.tag).toBeUndefined();
    expect((m.recordRoutes[0]?.uri as SipUri).maddr).toBe('ss1.example.com');
    expect((m.from?.uri as SipUri).userParam).toBe('phone');
    // Without <>, ";user=phone" is a To header parameter (RFC 3261 §20), not a URI parameter.
    expect(m.to?.params.get('user')).toBe('phone');
    const raw = torture('inv2543');
    expect(m.body.length).toBe(raw.length - raw.indexOf('\r\n\r\n') - 4);
    expect(checkRequest(m)).toBeUndefined();
  });
});
