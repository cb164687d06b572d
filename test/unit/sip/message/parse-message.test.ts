import { describe, expect, it } from 'vitest';
import { DEFAULT_SIP_LIMITS, parseMessage, validateMessage } from '../../../../src/sip/message/index.ts';

const HEAD = 'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\nFrom: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n';

function msg(extra: string, body = ''): Buffer {
  return Buffer.from(`${HEAD}${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

describe('parseMessage limits', () => {
  it('answers 513 for a message over maxMessageSize, if a response can be built', () => {
    const big = msg('', 'x'.repeat(2000));
    const r = parseMessage(big, { maxMessageSize: 1000 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect([r.error.code, r.error.status, r.error.reason, r.error.canRespond]).toEqual(['CR_SIP_TOO_LARGE', 513, 'Message Too Large', true]);
    expect(r.error.message?.get('Call-ID')).toBe('c1');
    expect(parseMessage(big, { maxMessageSize: big.length }).ok).toBe(true);
  });

  it('drops an oversized response or one without Via', () => {
    const res = parseMessage(Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n${'x'.repeat(500)}`), { maxMessageSize: 100 });
    expect(!res.ok && [res.error.status, res.error.canRespond]).toEqual([undefined, false]);
    const noVia = parseMessage(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n${'x'.repeat(500)}`), { maxMessageSize: 100 });
    expect(!noVia.ok && [noVia.error.status, noVia.error.canRespond]).toEqual([513, false]);
  });

  it('answers 513 for too many headers and for a too long line', () => {
    const many = msg(Array.from({ length: 30 }, (_, i) => `X-H${i}: v\r\n`).join(''));
    const r1 = parseMessage(many, { maxHeaderCount: 20 });
    expect(!r1.ok && [r1.error.code, r1.error.status, r1.error.canRespond]).toEqual(['CR_SIP_TOO_MANY_HEADERS', 513, true]);
    expect(parseMessage(many, { maxHeaderCount: 36 }).ok).toBe(true);
    const long = msg(`Subject: ${'s'.repeat(300)}\r\n`);
    const r2 = parseMessage(long, { maxLineLength: 200 });
    expect(!r2.ok && [r2.error.code, r2.error.status, r2.error.canRespond]).toEqual(['CR_SIP_LINE_TOO_LONG', 513, true]);
    // Folded pieces each under the limit still make one logical line over it.
    const folded = msg(`Subject: ${'s'.repeat(150)}\r\n ${'t'.repeat(150)}\r\n`);
    const r3 = parseMessage(folded, { maxLineLength: 200 });
    expect(!r3.ok && r3.error.code).toBe('CR_SIP_LINE_TOO_LONG');
    const longUri = Buffer.from(`OPTIONS sip:${'a'.repeat(300)}@b SIP/2.0\r\n\r\n`);
    expect(parseMessage(longUri, { maxLineLength: 200 })).toMatchObject({ ok: false, error: { code: 'CR_SIP_LINE_TOO_LONG' } });
  });

  it('has defaults', () => {
    expect(DEFAULT_SIP_LIMITS).toEqual({ maxMessageSize: 65535, maxHeaderCount: 256, maxLineLength: 8192 });
  });
});

describe('parseMessage framing of datagrams', () => {
  it('treats empty input and CRLFs as a keep-alive', () => {
    for (const s of ['', '\r\n', '\r\n\r\n', '\r']) expect(parseMessage(Buffer.from(s))).toMatchObject({ ok: false, error: { code: 'CR_SIP_KEEPALIVE', canRespond: false } });
  });

  it('skips CRLFs before the start line (§7.5)', () => {
    const r = parseMessage(Buffer.concat([Buffer.from('\r\n\r\n'), msg('')]));
    expect(r.ok && r.message.method).toBe('OPTIONS');
  });

  it('takes the rest of the datagram as body when Content-Length is absent', () => {
    const r = parseMessage(Buffer.from(`${HEAD}\r\nhello`));
    expect(r.ok && Buffer.from(r.message.body).toString()).toBe('hello');
  });

  it('accepts a Uint8Array that is a view into a larger buffer', () => {
    const whole = Buffer.concat([Buffer.from('garbage'), msg('', 'abc'), Buffer.from('tail')]);
    const view = new Uint8Array(whole.buffer, whole.byteOffset + 7, whole.length - 11);
    const r = parseMessage(view);
    expect(r.ok && Buffer.from(r.message.body).toString()).toBe('abc');
  });

  it.each([
    ['bare LF in a header', `${HEAD}X-A: a\nX-B: b\r\n\r\n`, 'CR_SIP_BAD_HEADER_LINE'],
    ['bare CR in a header', `${HEAD}X-A: a\rb\r\n\r\n`, 'CR_SIP_BAD_HEADER_LINE'],
    ['a line without colon', `${HEAD}NoColonHere\r\n\r\n`, 'CR_SIP_BAD_HEADER_LINE'],
    ['a bad header name', `${HEAD}Bad Name: x\r\n\r\n`, 'CR_SIP_BAD_HEADER_LINE'],
    ['a folded first header', `OPTIONS sip:a@b SIP/2.0\r\n folded\r\n${HEAD.slice(HEAD.indexOf('\r\n') + 2)}\r\n`, 'CR_SIP_BAD_HEADER_LINE'],
    ['nothing for a well-formed head (control case)', `${HEAD}\r\n`, undefined],
  ])('reports %s', (_, text, code) => {
    const r = parseMessage(Buffer.from(text));
    if (code === undefined) expect(r.ok).toBe(true);
    else expect(!r.ok && [r.error.code, r.error.status, r.error.canRespond]).toEqual([code, 400, true]);
  });

  it('refuses status lines that are not SIP/2.0 with 3 digits', () => {
    for (const line of ['SIP/2.0 99 x', 'SIP/2.0 700 x', 'SIP/2.0 20 OK', 'SIP/2.0 2000 OK', 'SIP/3.0 200 OK', 'SIP/2.0', 'SIP/2.0 200OK']) {
      const r = parseMessage(Buffer.from(`${line}\r\nVia: SIP/2.0/UDP h\r\n\r\n`));
      expect(r.ok, line).toBe(false);
      expect(!r.ok && r.error.canRespond).toBe(false);
    }
    const ok = parseMessage(Buffer.from('SIP/2.0 200\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n'));
    expect(ok.ok && [ok.message.status, ok.message.reason]).toEqual([200, '']);
  });

  it('can skip validation and validate later', () => {
    const bad = msg('').toString().replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    const r = parseMessage(Buffer.from(bad), { validate: false });
    expect(r.ok).toBe(true);
    if (r.ok) expect(validateMessage(r.message)).toMatchObject({ code: 'CR_SIP_CSEQ_MISMATCH', status: 400, canRespond: true });
  });
});
