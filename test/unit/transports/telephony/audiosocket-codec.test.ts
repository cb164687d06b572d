import { describe, expect, it } from 'vitest';
import { audioKindRate, HANGUP_FRAME, TlvReader, tlvFrame, uuidText } from '../../../../src/transports/telephony/audiosocket/audiosocket-codec.ts';

/** A stream as Asterisk writes it (bytes by hand): UUID, two audio frames, DTMF '5', an error 0x01. */
const UUID = Buffer.from('40325ec25efd4bd3805f53576e581d13', 'hex');
const STREAM = Buffer.concat([
  Buffer.from([0x01, 0x00, 0x10]),
  UUID,
  Buffer.from([0x10, 0x00, 0x04, 0x01, 0x00, 0xff, 0xff]),
  Buffer.from([0x12, 0x00, 0x02, 0x00, 0x80]),
  Buffer.from([0x03, 0x00, 0x01, 0x35]),
  Buffer.from([0xff, 0x00, 0x01, 0x01]),
  Buffer.from([0x00, 0x00, 0x00]),
]);

const expected = [
  { kind: 0x01, payload: UUID },
  { kind: 0x10, payload: Buffer.from([0x01, 0x00, 0xff, 0xff]) },
  { kind: 0x12, payload: Buffer.from([0x00, 0x80]) },
  { kind: 0x03, payload: Buffer.from('5') },
  { kind: 0xff, payload: Buffer.from([0x01]) },
  { kind: 0x00, payload: Buffer.alloc(0) },
];

describe('AudioSocket framing', () => {
  it('reads the same frames however the stream is split, at every byte offset', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const r = new TlvReader(1024);
      const a = r.push(STREAM.subarray(0, cut));
      const b = r.push(STREAM.subarray(cut));
      expect(a.ok && b.ok).toBe(true);
      expect([...a.frames, ...b.frames]).toEqual(expected);
      expect(r.pending).toBe(0);
    }
  });

  it('reads a stream fed one byte at a time, and holds a truncated frame as pending', () => {
    const r = new TlvReader(1024);
    const frames = [];
    for (const byte of STREAM.subarray(0, STREAM.length - 5)) frames.push(...r.push(Buffer.from([byte])).frames);
    expect(frames).toEqual(expected.slice(0, 4));
    // The error frame is cut after its header and one byte short.
    expect(r.pending).toBe(2);
  });

  it('refuses a frame announcing more than the limit, returning the frames before it', () => {
    const r = new TlvReader(100);
    const res = r.push(Buffer.concat([Buffer.from([0x03, 0x00, 0x01, 0x31]), Buffer.from([0x10, 0x01, 0x00]), Buffer.alloc(256)]));
    expect(res.ok).toBe(false);
    expect(res.frames).toEqual([{ kind: 0x03, payload: Buffer.from('1') }]);
    if (!res.ok) expect(res.detail).toBe('frame of kind 0x10 announces 256 bytes, over the limit of 100');
  });

  it('writes frames as Asterisk reads them', () => {
    expect(tlvFrame(0x10, new Uint8Array([1, 2, 3, 4]))).toEqual(Buffer.from([0x10, 0x00, 0x04, 1, 2, 3, 4]));
    expect(tlvFrame(0x12, new Uint8Array(640)).subarray(0, 3)).toEqual(Buffer.from([0x12, 0x02, 0x80]));
    expect(HANGUP_FRAME).toEqual(Buffer.from([0x00, 0x00, 0x00]));
    expect(uuidText(UUID)).toBe('40325ec2-5efd-4bd3-805f-53576e581d13');
  });

  it('knows both numberings of the higher-rate kinds', () => {
    // Current Asterisk (ff0523a): 0x11 slin12 ... 0x18 slin192.
    expect([0x10, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18].map((k) => audioKindRate(k, 0, 'auto'))).toEqual([8000, 16000, 24000, 32000, 44100, 48000, 96000, 192000]);
    // 0x11: slin16 in older docs and libraries, slin12 now; auto reads a 20 ms frame's size.
    expect(audioKindRate(0x11, 640, 'auto')).toBe(16000);
    expect(audioKindRate(0x11, 480, 'auto')).toBe(12000);
    expect(audioKindRate(0x11, 320, 'auto')).toBe(16000);
    expect(audioKindRate(0x11, 640, 'slin12')).toBe(12000);
    expect(audioKindRate(0x11, 480, 'slin16')).toBe(16000);
    expect(audioKindRate(0x19, 640, 'auto')).toBeUndefined();
  });
});
