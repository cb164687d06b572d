import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyDatagram,
  isRtpOrRtcp,
  parseRtp,
  parseRtpDetailed,
  rtpSize,
  seqDiff,
  seqNewer,
  serializeRtp,
  tsDiff,
  type RtpPacketInit,
} from '../../../../src/media/rtp/packet.ts';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

describe('parseRtp', () => {
  it('reads a hand-assembled packet field by field', () => {
    // V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0xdeadbeef | ssrc 0x01020304 | payload ff ff 7f
    const buf = hex('80 80 1234 deadbeef 01020304 ffff7f');
    const p = parseRtp(buf);
    expect(p).not.toBeNull();
    expect(p?.marker).toBe(true);
    expect(p?.payloadType).toBe(0);
    expect(p?.sequenceNumber).toBe(0x1234);
    expect(p?.timestamp).toBe(0xdeadbeef);
    expect(p?.ssrc).toBe(0x01020304);
    expect(p?.csrc).toEqual([]);
    expect(p?.extension).toBeNull();
    expect(p?.paddingLength).toBe(0);
    expect([...(p?.payload ?? [])]).toEqual([0xff, 0xff, 0x7f]);
  });

  it('reads CSRCs, a header extension and padding together', () => {
    // V=2 P=1 X=1 CC=2, PT 8, two CSRCs, extension profile 0xBEDE with one word, payload 2 bytes, 3 pad bytes
    const buf = hex('b2 08 0001 00000010 0000abcd 00000001 00000002 bede0001 10ff0000 aabb 000003');
    const p = parseRtp(buf);
    expect(p?.csrc).toEqual([1, 2]);
    expect(p?.extension?.profile).toBe(0xbede);
    expect([...(p?.extension?.data ?? [])]).toEqual([0x10, 0xff, 0, 0]);
    expect(p?.paddingLength).toBe(3);
    expect([...(p?.payload ?? [])]).toEqual([0xaa, 0xbb]);
    expect(p?.marker).toBe(false);
    expect(p?.payloadType).toBe(8);
  });

  it('returns the payload as a view, not a copy', () => {
    const buf = hex('80 00 0001 00000000 00000001 010203');
    const p = parseRtp(buf);
    expect(p?.payload.buffer).toBe(buf.buffer);
    buf[12] = 9;
    expect(p?.payload[0]).toBe(9);
  });

  it('gives the reason a datagram is rejected', () => {
    expect(parseRtpDetailed(hex('80 00 0001'))).toBe('too-short');
    expect(parseRtpDetailed(hex('40 00 0001 00000000 00000001'))).toBe('bad-version');
    expect(parseRtpDetailed(hex('81 00 0001 00000000 00000001'))).toBe('truncated-csrc');
    expect(parseRtpDetailed(hex('90 00 0001 00000000 00000001 bede'))).toBe('truncated-extension');
    expect(parseRtpDetailed(hex('90 00 0001 00000000 00000001 bede0002 00000000'))).toBe('truncated-extension');
    // padding count 0 is invalid (it counts itself)
    expect(parseRtpDetailed(hex('a0 00 0001 00000000 00000001 aa00'))).toBe('bad-padding');
    // padding count larger than what follows the header
    expect(parseRtpDetailed(hex('a0 00 0001 00000000 00000001 aa05'))).toBe('bad-padding');
  });

  it('accepts padding that takes the whole payload, and an empty payload', () => {
    const p = parseRtp(hex('a0 00 0001 00000000 00000001 000002'));
    expect(p?.paddingLength).toBe(2);
    expect(p?.payload.length).toBe(1);
    const q = parseRtp(hex('a0 00 0001 00000000 00000001 000003'));
    expect(q?.payload.length).toBe(0);
    expect(parseRtp(hex('80 00 0001 00000000 00000001'))?.payload.length).toBe(0);
  });

  it('rejects every truncation of a packet inside its header, CSRC list or extension', () => {
    const full = serializeRtp({
      payloadType: 0,
      sequenceNumber: 7,
      timestamp: 8,
      ssrc: 9,
      csrc: [1, 2, 3],
      extension: { profile: 0x1000, data: new Uint8Array(8) },
      payload: new Uint8Array(160).fill(0xff),
    });
    const headerEnd = 12 + 12 + 4 + 8;
    for (let n = 0; n < full.length; n++) {
      const r = parseRtp(full.subarray(0, n));
      if (n < headerEnd) expect(r).toBeNull();
      else expect(r?.payload.length).toBe(n - headerEnd);
    }
  });
});

describe('serializeRtp', () => {
  const base: RtpPacketInit = {
    payloadType: 0,
    sequenceNumber: 65535,
    timestamp: 0xffffffff,
    ssrc: 0x80000001,
    payload: Uint8Array.from([1, 2, 3, 4, 5]),
  };

  it('round-trips marker, CSRC, extension, padding and extreme values', () => {
    const init: RtpPacketInit = {
      ...base,
      marker: true,
      payloadType: 127,
      csrc: Array.from({ length: 15 }, (_, i) => 0xfffffff0 + i),
      extension: { profile: 0xbede, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
      paddingLength: 4,
    };
    const bytes = serializeRtp(init);
    expect(bytes.length).toBe(rtpSize(init));
    expect(bytes[bytes.length - 1]).toBe(4);
    const p = parseRtp(bytes);
    expect(p).toMatchObject({
      marker: true,
      payloadType: 127,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 0x80000001,
      csrc: init.csrc,
      paddingLength: 4,
    });
    expect([...(p?.payload ?? [])]).toEqual([1, 2, 3, 4, 5]);
    expect([...(p?.extension?.data ?? [])]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('writes into a reused buffer and returns a view of the written length', () => {
    const out = new Uint8Array(1500);
    const a = serializeRtp(base, out);
    expect(a.buffer).toBe(out.buffer);
    expect(a.length).toBe(17);
    const b = serializeRtp({ ...base, sequenceNumber: 0, payload: new Uint8Array(3) }, out);
    expect(b.length).toBe(15);
    expect(parseRtp(b)?.sequenceNumber).toBe(0);
  });

  it('throws RangeError for values that cannot be encoded or a buffer too small', () => {
    expect(() => serializeRtp({ ...base, payloadType: 128 })).toThrow(RangeError);
    expect(() => serializeRtp({ ...base, sequenceNumber: 65536 })).toThrow(RangeError);
    expect(() => serializeRtp({ ...base, timestamp: -1 })).toThrow(RangeError);
    expect(() => serializeRtp({ ...base, csrc: new Array(16).fill(0) })).toThrow(RangeError);
    expect(() => serializeRtp({ ...base, paddingLength: 256 })).toThrow(RangeError);
    expect(() => serializeRtp({ ...base, extension: { profile: 1, data: new Uint8Array(3) } })).toThrow(RangeError);
    expect(() => serializeRtp(base, new Uint8Array(16))).toThrow(RangeError);
  });

  it('round-trips any encodable packet (property)', () => {
    const init = fc.record({
      marker: fc.boolean(),
      payloadType: fc.integer({ min: 0, max: 127 }),
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      ssrc: fc.integer({ min: 0, max: 0xffffffff }),
      csrc: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
      extension: fc.option(
        fc.record({
          profile: fc.integer({ min: 0, max: 0xffff }),
          data: fc.integer({ min: 0, max: 8 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 })),
        }),
      ),
      paddingLength: fc.integer({ min: 0, max: 255 }),
      payload: fc.uint8Array({ maxLength: 400 }),
    });
    fc.assert(
      fc.property(init, (pkt) => {
        const p = parseRtp(serializeRtp(pkt));
        expect(p).not.toBeNull();
        expect(p?.marker).toBe(pkt.marker);
        expect(p?.payloadType).toBe(pkt.payloadType);
        expect(p?.sequenceNumber).toBe(pkt.sequenceNumber);
        expect(p?.timestamp).toBe(pkt.timestamp);
        expect(p?.ssrc).toBe(pkt.ssrc);
        expect(p?.csrc).toEqual(pkt.csrc);
        expect(p?.paddingLength).toBe(pkt.paddingLength);
        expect(p?.extension?.profile).toBe(pkt.extension?.profile);
        expect(p?.extension ? [...p.extension.data] : null).toEqual(pkt.extension ? [...pkt.extension.data] : null);
        expect([...(p?.payload ?? [])]).toEqual([...pkt.payload]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseRtp on hostile input (property)', () => {
  it('never throws on random bytes, and what it accepts lies inside the datagram', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (buf) => {
        const r = parseRtpDetailed(buf);
        if (typeof r === 'string') return;
        const headerLen = 12 + r.csrc.length * 4 + (r.extension ? 4 + r.extension.data.length : 0);
        expect(headerLen + r.payload.length + r.paddingLength).toBe(buf.length);
        expect(r.payload.byteOffset).toBe(buf.byteOffset + headerLen);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws on truncated or bit-flipped valid packets', () => {
    const valid = fc
      .record({
        csrc: fc.array(fc.nat(), { maxLength: 4 }),
        payload: fc.uint8Array({ maxLength: 200 }),
        pad: fc.integer({ min: 0, max: 20 }),
      })
      .map(({ csrc, payload, pad }) =>
        serializeRtp({
          payloadType: 0,
          sequenceNumber: 1,
          timestamp: 1,
          ssrc: 1,
          csrc,
          extension: { profile: 1, data: new Uint8Array(4) },
          paddingLength: pad,
          payload,
        }),
      );
    fc.assert(
      fc.property(valid, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (bytes, cut, at, v) => {
        const truncated = bytes.subarray(0, cut % (bytes.length + 1));
        const flipped = Uint8Array.from(bytes);
        flipped[at % flipped.length] = v;
        expect(() => parseRtp(truncated)).not.toThrow();
        expect(() => parseRtp(flipped)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('sequence and timestamp wrap-around', () => {
  it('orders sequence numbers across 65535 -> 0', () => {
    expect(seqDiff(0, 65535)).toBe(1);
    expect(seqDiff(65535, 0)).toBe(-1);
    expect(seqDiff(5, 65530)).toBe(11);
    expect(seqNewer(2, 65534)).toBe(true);
    expect(seqNewer(65534, 2)).toBe(false);
    expect(seqNewer(7, 7)).toBe(false);
    expect(seqDiff(100, 40)).toBe(60);
  });

  it('orders timestamps across 2^32 -> 0', () => {
    expect(tsDiff(80, 0xffffffb0)).toBe(160);
    expect(tsDiff(0xffffffb0, 80)).toBe(-160);
    expect(tsDiff(1000, 200)).toBe(800);
  });
});

describe('classifyDatagram', () => {
  const stun = hex('0001 0000 2112a442 000102030405060708090a0b'); // Binding Request, no attributes
  const rtcpSr = hex('80c80006 00000001 0000000000000000 00000000 00000000 00000000');
  const rtcpRr = hex('81c90007 00000001');
  const rtp = hex('80 00 0001 00000000 00000001 ff');

  it('recognises STUN by its leading zero bits and magic cookie', () => {
    expect(classifyDatagram(stun)).toBe('stun');
    const wrongCookie = Uint8Array.from(stun);
    wrongCookie[4] = 0;
    expect(classifyDatagram(wrongCookie)).toBe('unknown');
    expect(classifyDatagram(stun.subarray(0, 19))).toBe('unknown');
    expect(isRtpOrRtcp(stun)).toBe(false);
  });

  it('tells RTCP (packet types 192-223) from RTP on a muxed port', () => {
    expect(classifyDatagram(rtcpSr)).toBe('rtcp');
    expect(classifyDatagram(rtcpRr)).toBe('rtcp');
    for (const pt of [200, 201, 202, 203, 204]) expect(classifyDatagram(hex(`80${pt.toString(16)}0001 00000001`))).toBe('rtcp');
    expect(classifyDatagram(rtp)).toBe('rtp');
    expect(classifyDatagram(hex('80 e0 0001 00000000 00000001'))).toBe('rtp'); // marker + PT 96
    expect(isRtpOrRtcp(rtp) && isRtpOrRtcp(rtcpRr)).toBe(true);
  });

  it('calls DTLS, empty and garbage datagrams what they are', () => {
    expect(classifyDatagram(hex('16fefd'))).toBe('dtls');
    expect(classifyDatagram(new Uint8Array(0))).toBe('unknown');
    expect(classifyDatagram(hex('ff00ff00'))).toBe('unknown');
    expect(classifyDatagram(hex('8000'))).toBe('unknown');
  });

  it('never throws on random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void classifyDatagram(b)), { numRuns: 1000 });
  });
});
