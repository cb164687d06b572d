import { describe, expect, it } from 'vitest';
import { findAttribute, parseSdp, serializeSdp } from '../../../../src/sip/sdp/sdp.ts';
import { BARESIP_OFFER } from '../../../support/sdp-fixtures.ts';



describe('parseSdp', () => {
  it('parses session and media lines', () => {
    const r = parseSdp(BARESIP_OFFER);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sdp.origin.sessionId).toBe('1925385493');
    expect(r.sdp.connection?.address).toBe('127.0.0.1');
    const m = r.sdp.media[0];
    expect(m?.port).toBe(10002);
    expect(m?.formats).toEqual(['9', '0', '8', '101']);
    expect(m?.bandwidths).toEqual(['AS:64']);
    expect(findAttribute(r.sdp, m!, 'ptime')).toBe('20');
    expect(findAttribute(r.sdp, m!, 'sendrecv')).toBe('');
  });

  it('round-trips through serializeSdp', () => {
    const r = parseSdp(BARESIP_OFFER);
    if (!r.ok) throw new Error(r.reason);
    const again = parseSdp(serializeSdp(r.sdp));
    expect(again).toEqual(r);
  });

  it('accepts LF-only line ends, IPv6 and a port count', () => {
    const r = parseSdp('v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 ::1\nt=0 0\nm=audio 4000/2 RTP/AVP 0\n');
    expect(r.ok && r.sdp.media[0]?.portCount).toBe(2);
    expect(r.ok && r.sdp.connection?.address).toBe('::1');
  });

  it.each([
    ['missing v', 'o=- 1 1 IN IP4 1.2.3.4\ns=-\n'],
    ['bad origin', 'v=0\no=- 1\ns=-\n'],
    ['garbage line', 'v=0\nhello\n'],
    ['bad port', 'v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=audio 99999 RTP/AVP 0\n'],
    ['bad connection', 'v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4\n'],
  ])('rejects %s without throwing', (_name, text) => {
    const r = parseSdp(text);
    expect(r.ok).toBe(false);
  });
});
