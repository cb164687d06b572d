import { describe, expect, it } from 'vitest';
import { StreamFramer, parseMessage, type FramerEvent, type SipParseOptions } from '../../../../src/sip/message/index.ts';
import { ALL, VALID, torture } from './torture.ts';

/** A comparable picture of an event. */
function picture(e: FramerEvent): unknown {
  switch (e.type) {
    case 'message':
      return ['message', e.message.toBuffer().toString('latin1')];
    case 'keepalive':
      return ['keepalive', e.kind];
    case 'invalid':
    case 'fatal':
      return [e.type, e.error.code, e.error.status, e.error.reason, e.error.canRespond, e.error.message?.startLine()];
  }
}

function feed(chunks: readonly Uint8Array[], options?: SipParseOptions): { events: unknown[]; framer: StreamFramer } {
  const framer = new StreamFramer(options);
  const events: unknown[] = [];
  for (const c of chunks) for (const e of framer.push(c)) events.push(picture(e));
  return { events, framer };
}

const WHOLE_VALID = VALID.filter((n) => n !== 'dblreq');

describe('StreamFramer', () => {
  it.each(WHOLE_VALID)('%s: one message, the same as parseMessage gives', (name) => {
    const buf = torture(name);
    const parsed = parseMessage(buf);
    expect(parsed.ok).toBe(true);
    const { events, framer } = feed([buf]);
    expect(events).toEqual([['message', parsed.ok ? parsed.message.toBuffer().toString('latin1') : '']]);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('dblreq: both requests of the stream are framed; octets past the INVITE body break the stream', () => {
    const { events } = feed([torture('dblreq')]);
    const kinds = events.map((e) => (e as unknown[])[0]);
    // The INVITE announces 150 body octets and carries 155: the last 5 are not a message.
    expect(kinds).toEqual(['message', 'keepalive', 'message', 'fatal']);
    expect(String((events[0] as unknown[])[1])).toMatch(/^REGISTER /);
    expect(String((events[2] as unknown[])[1])).toMatch(/^INVITE sip:joe@example.com /);
  });

  it.each(ALL)('%s split at every byte offset gives the same events as whole', (name) => {
    const buf = torture(name);
    const whole = feed([buf]);
    for (let i = 1; i < buf.length; i++) {
      const split = feed([buf.subarray(0, i), buf.subarray(i)]);
      expect(split.events, `split at ${i}`).toEqual(whole.events);
      expect(split.framer.bufferedBytes).toBe(whole.framer.bufferedBytes);
    }
  });

  it('a stream of several valid messages with keep-alives, split at every offset and byte by byte', () => {
    const parts = [torture('wsinv'), Buffer.from('\r\n\r\n'), torture('mpart01'), torture('esc01'), Buffer.from('\r\n'), torture('unreason'), torture('intmeth')];
    const stream = Buffer.concat(parts);
    const whole = feed([stream]);
    expect(whole.events.map((e) => (e as unknown[])[0])).toEqual(['message', 'keepalive', 'keepalive', 'message', 'message', 'keepalive', 'message', 'message']);
    expect(whole.events.filter((e) => (e as unknown[])[0] === 'keepalive')).toEqual([['keepalive', 'crlf'], ['keepalive', 'ping'], ['keepalive', 'crlf']]);
    for (let i = 1; i < stream.length; i++) {
      expect(feed([stream.subarray(0, i), stream.subarray(i)]).events, `split at ${i}`).toEqual(whole.events);
    }
    const bytes: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
    expect(feed(bytes).events).toEqual(whole.events);
  });

  it('reports a double-CRLF ping and single-CRLF pongs (RFC 5626)', () => {
    expect(feed([Buffer.from('\r\n\r\n')]).events).toEqual([['keepalive', 'crlf'], ['keepalive', 'ping']]);
    expect(feed([Buffer.from('\r\n')]).events).toEqual([['keepalive', 'crlf']]);
    expect(feed([Buffer.from('\r'), Buffer.from('\n\r'), Buffer.from('\n')]).events).toEqual([['keepalive', 'crlf'], ['keepalive', 'ping']]);
  });

  it('an invalid but framed message is reported and the stream goes on', () => {
    const { events, framer } = feed([Buffer.concat([torture('mismatch01'), torture('lwsdisp')])]);
    expect(events[0]).toEqual(['invalid', 'CR_SIP_CSEQ_MISMATCH', 400, 'Bad Request - CSeq method mismatch', true, 'OPTIONS sip:user@example.com SIP/2.0']);
    expect((events[1] as unknown[])[0]).toBe('message');
    expect(framer.closed).toBe(false);
  });

  it('a message without Content-Length is fatal on a stream, with a 400 when possible', () => {
    const { events, framer } = feed([torture('inv2543'), torture('lwsdisp')]);
    expect(events).toEqual([['fatal', 'CR_SIP_MISSING_CONTENT_LENGTH', 400, 'Bad Request - Missing Content-Length', true, 'INVITE sip:UserB@example.com SIP/2.0']]);
    expect(framer.closed).toBe(true);
    expect(framer.push(torture('lwsdisp'))).toEqual([]);
  });

  it('negative or conflicting Content-Length is fatal (ncl, mcl01)', () => {
    expect((feed([torture('ncl')]).events[0] as unknown[]).slice(0, 5)).toEqual(['fatal', 'CR_SIP_BAD_CONTENT_LENGTH', 400, 'Bad Request - Malformed Content-Length', true]);
    expect((feed([torture('mcl01')]).events[0] as unknown[]).slice(0, 5)).toEqual(['fatal', 'CR_SIP_BAD_CONTENT_LENGTH', 400, 'Bad Request - Conflicting Content-Length', true]);
  });

  it('waits for a body that has not arrived yet (clerr)', () => {
    const { events, framer } = feed([torture('clerr')]);
    expect(events).toEqual([]);
    expect(framer.bufferedBytes).toBe(torture('clerr').length);
  });

  it('bounds the buffer: a head that never ends is fatal at the size limit', () => {
    const framer = new StreamFramer({ maxMessageSize: 1000 });
    const head = Buffer.from('OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n');
    const events = framer.push(head);
    const filler = Buffer.from('X-Filler: ' + 'a'.repeat(80) + '\r\n');
    let fatal: FramerEvent | undefined;
    for (let i = 0; i < 100 && fatal === undefined; i++) {
      fatal = framer.push(filler).find((e) => e.type === 'fatal');
      expect(framer.bufferedBytes).toBeLessThanOrEqual(1001);
    }
    expect(events).toEqual([]);
    expect(fatal).toMatchObject({ type: 'fatal', error: { code: 'CR_SIP_TOO_LARGE', status: 513, canRespond: true } });
    expect(framer.bufferedBytes).toBe(0);
  });

  it('a Content-Length past the size limit is fatal before the body arrives', () => {
    const framer = new StreamFramer({ maxMessageSize: 2000 });
    const events = framer.push(Buffer.from('MESSAGE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h.example.com;branch=z9hG4bK1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5000\r\n\r\n'));
    expect(events).toMatchObject([{ type: 'fatal', error: { code: 'CR_SIP_TOO_LARGE', status: 513, canRespond: true } }]);
  });

  it('one large chunk is taken in pieces no larger than the limit', () => {
    const framer = new StreamFramer({ maxMessageSize: 600 });
    const msgs = Buffer.concat(Array.from({ length: 20 }, () => torture('lwsdisp')));
    const events = framer.push(msgs);
    expect(events.filter((e) => e.type === 'message')).toHaveLength(20);
    expect(framer.bufferedBytes).toBe(0);
  });

  it('copies message bytes: reusing the pushed buffer does not change a framed message', () => {
    const framer = new StreamFramer();
    const chunk = Buffer.from(torture('mpart01'));
    const [event] = framer.push(chunk);
    chunk.fill(0);
    expect(event?.type).toBe('message');
    if (event?.type === 'message') expect(Buffer.from(event.message.body).equals(parseOk(torture('mpart01')))).toBe(true);
  });
});

function parseOk(buf: Buffer): Buffer {
  const r = parseMessage(buf);
  return r.ok ? Buffer.from(r.message.body) : Buffer.alloc(0);
}
