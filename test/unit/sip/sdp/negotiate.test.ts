import { describe, expect, it } from 'vitest';
import { acceptAnswer, answerOffer, createOffer, type LocalMediaOptions } from '../../../../src/sip/sdp/negotiate.ts';
import { parseSdp, serializeSdp, type SessionDescription } from '../../../../src/sip/sdp/sdp.ts';
import { BARESIP_OFFER } from '../../../support/sdp-fixtures.ts';

const LOCAL: LocalMediaOptions = {
  address: '127.0.0.1',
  port: 20000,
  codecs: ['G722', 'PCMU', 'PCMA'],
  ptime: 20,
  dtmfPayloadType: 101,
  direction: 'sendrecv',
  sessionId: '42',
  sessionVersion: 1,
};

function sdp(text: string): SessionDescription {
  const r = parseSdp(text);
  if (!r.ok) throw new Error(r.reason);
  return r.sdp;
}

function offer(formats: string, extra: string[] = [], conn = '127.0.0.1'): SessionDescription {
  return sdp(['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', `c=IN IP4 ${conn}`, 't=0 0', `m=audio 30000 RTP/AVP ${formats}`, ...extra, ''].join('\r\n'));
}

describe('answerOffer', () => {
  it('picks our preferred codec, keeps telephone-event and mirrors direction', () => {
    const r = answerOffer(sdp(BARESIP_OFFER), LOCAL);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.audio).toEqual({
      codec: 'G722',
      payloadType: 9,
      dtmfPayloadType: 101,
      ptime: 20,
      remoteAddress: '127.0.0.1',
      remotePort: 10002,
      direction: 'sendrecv',
    });
    const text = serializeSdp(r.answer);
    expect(text).toContain('m=audio 20000 RTP/AVP 9 101\r\n');
    expect(text).toContain('a=rtpmap:9 G722/8000\r\n');
    expect(text).toContain('a=fmtp:101 0-16\r\n');
    expect(text).toContain('a=sendrecv\r\n');
  });

  it('follows the configured preference, not the offer order', () => {
    const r = answerOffer(sdp(BARESIP_OFFER), { ...LOCAL, codecs: ['PCMA', 'PCMU'] });
    expect(r.ok && r.audio.codec).toBe('PCMA');
  });

  it('maps dynamic payload types through rtpmap and ignores unknown codecs', () => {
    const r = answerOffer(offer('96 97 0', ['a=rtpmap:96 opus/48000/2', 'a=rtpmap:97 telephone-event/8000']), LOCAL);
    expect(r.ok && r.audio).toMatchObject({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 97 });
  });

  it('answers 488 when nothing is acceptable', () => {
    expect(answerOffer(offer('96', ['a=rtpmap:96 opus/48000/2']), LOCAL)).toMatchObject({ ok: false, status: 488 });
    const srtp = sdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n');
    expect(answerOffer(srtp, LOCAL)).toMatchObject({ ok: false, status: 488 });
  });

  it('answers a hold offer (sendonly) with recvonly, and c=0.0.0.0 as hold too', () => {
    const hold = answerOffer(offer('0', ['a=sendonly']), LOCAL);
    expect(hold.ok && hold.audio.direction).toBe('recvonly');
    const old = answerOffer(offer('0', [], '0.0.0.0'), LOCAL);
    expect(old.ok && old.audio.direction).toBe('recvonly');
    const inactive = answerOffer(offer('0', ['a=inactive']), LOCAL);
    expect(inactive.ok && inactive.audio.direction).toBe('inactive');
  });

  it('uses the offered ptime and rejects extra streams with port 0', () => {
    const text = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=video 5000 RTP/AVP 96', 'm=audio 30000 RTP/AVP 8', 'a=ptime:30', ''].join('\r\n');
    const r = answerOffer(sdp(text), LOCAL);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.audio.ptime).toBe(30);
    expect(r.answer.media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 20000],
    ]);
  });
});

describe('createOffer / acceptAnswer', () => {
  it('offers every codec with telephone-event and reads the answer', () => {
    const ours = createOffer(LOCAL);
    const text = serializeSdp(ours);
    expect(text).toContain('m=audio 20000 RTP/AVP 9 0 8 101\r\n');
    // The peer answers with our own answerer: the two halves agree.
    const peer = answerOffer(sdp(text), { ...LOCAL, port: 31000, codecs: ['PCMU'], sessionId: '7' });
    expect(peer.ok).toBe(true);
    if (!peer.ok) return;
    const got = acceptAnswer(sdp(serializeSdp(peer.answer)), LOCAL);
    expect(got).toEqual({
      ok: true,
      audio: { codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, ptime: 20, remoteAddress: '127.0.0.1', remotePort: 31000, direction: 'sendrecv' },
    });
  });

  it('refuses an answer without our codecs or with the stream rejected', () => {
    expect(acceptAnswer(offer('96', ['a=rtpmap:96 opus/48000/2']), LOCAL).ok).toBe(false);
    expect(acceptAnswer(sdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n'), LOCAL).ok).toBe(false);
  });
});
