import { describe, expect, it } from 'vitest';
import alawmulaw from 'alawmulaw';
import {
  alawDecode,
  alawDecodeSample,
  alawEncode,
  alawEncodeSample,
  mulawDecode,
  mulawDecodeSample,
  mulawEncode,
  mulawEncodeSample,
} from '../../../src/media/g711.ts';
import { CallroomError } from '../../../src/core/errors.ts';

/** Every int16 value, -32768..32767. */
function allSamples(): Int16Array {
  const pcm = new Int16Array(65536);
  for (let i = 0; i < 65536; i++) pcm[i] = i - 32768;
  return pcm;
}

function allCodes(): Uint8Array {
  const codes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) codes[i] = i;
  return codes;
}

function firstMismatch(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const laws = [
  {
    name: 'mu-law',
    encode: mulawEncode,
    decode: mulawDecode,
    encodeSample: mulawEncodeSample,
    decodeSample: mulawDecodeSample,
    ref: alawmulaw.mulaw,
  },
  {
    name: 'A-law',
    encode: alawEncode,
    decode: alawDecode,
    encodeSample: alawEncodeSample,
    decodeSample: alawDecodeSample,
    ref: alawmulaw.alaw,
  },
] as const;

describe.each(laws)('G.711 $name', (law) => {
  it('encodes all 65,536 PCM inputs exactly as alawmulaw', () => {
    const pcm = allSamples();
    const ours = law.encode(pcm);
    const ref = law.ref.encode(pcm);
    expect(ours.length).toBe(65536);
    expect(firstMismatch(ours, ref)).toBe(-1);
  });

  it('decodes all 256 code words exactly as alawmulaw', () => {
    const codes = allCodes();
    const ours = law.decode(codes);
    const ref = law.ref.decode(codes);
    expect(Array.from(ours)).toEqual(Array.from(ref));
  });

  it('single-sample functions agree with alawmulaw and with the array path', () => {
    const pcm = allSamples();
    const arr = law.encode(pcm);
    for (let i = 0; i < pcm.length; i++) {
      const s = pcm[i] as number;
      const ours = law.encodeSample(s);
      if (ours !== (law.ref.encodeSample(s) & 0xff) || ours !== arr[i]) {
        expect.fail(`sample ${s}: ours ${ours}, ref ${law.ref.encodeSample(s) & 0xff}, array ${arr[i]}`);
      }
    }
    // `| 0` because the reference returns -0 for mu-law's negative-zero code 0x7F.
    for (let c = 0; c < 256; c++) expect(law.decodeSample(c)).toBe(law.ref.decodeSample(c) | 0);
  });

  it('clamps out-of-range single samples instead of wrapping', () => {
    expect(law.encodeSample(40000)).toBe(law.encodeSample(32767));
    expect(law.encodeSample(-40000)).toBe(law.encodeSample(-32768));
    expect(law.encodeSample(100.9)).toBe(law.encodeSample(100));
    expect(law.decodeSample(0x1ff)).toBe(law.decodeSample(0xff));
  });

  it('decode(encode(x)) is idempotent and close to x', () => {
    const pcm = allSamples();
    const decoded = law.decode(law.encode(pcm));
    // Re-encoding a decoded value reproduces it (mu-law's two zero codes make code-level equality too strict).
    expect(firstMismatch(law.decode(law.encode(decoded)), decoded)).toBe(-1);
    // The widest quantisation step of both laws is 1024 (top segment), so the error is at most half of it plus clip.
    let maxErr = 0;
    for (let i = 0; i < pcm.length; i++) {
      const x = pcm[i] as number;
      if (Math.abs(x) > 32000) continue;
      maxErr = Math.max(maxErr, Math.abs((decoded[i] as number) - x));
    }
    expect(maxErr).toBeLessThanOrEqual(520);
    expect(maxErr).toBeGreaterThan(0);
  });

  it('reuses the out buffer and returns a subarray of the right length', () => {
    const pcm = new Int16Array([0, 1000, -1000, 32767, -32768]);
    const bytes = new Uint8Array(160);
    const enc = law.encode(pcm, bytes);
    expect(enc.length).toBe(5);
    expect(enc.buffer).toBe(bytes.buffer);
    expect(Array.from(enc)).toEqual(Array.from(law.ref.encode(pcm)));
    const pcmOut = new Int16Array(160);
    const dec = law.decode(enc, pcmOut);
    expect(dec.length).toBe(5);
    expect(dec.buffer).toBe(pcmOut.buffer);
    expect(Array.from(dec)).toEqual(Array.from(law.ref.decode(enc)));
    const exact = new Uint8Array(5);
    expect(law.encode(pcm, exact)).toBe(exact);
  });

  it('rejects an out buffer that is too small with a CallroomError', () => {
    const err = (() => {
      try {
        law.encode(new Int16Array(10), new Uint8Array(5));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CallroomError);
    expect((err as CallroomError).code).toBe('CR_CODEC_BUFFER');
    expect(() => law.decode(new Uint8Array(10), new Int16Array(9))).toThrow(CallroomError);
  });

  it('handles empty input', () => {
    expect(law.encode(new Int16Array(0)).length).toBe(0);
    expect(law.decode(new Uint8Array(0)).length).toBe(0);
  });
});

describe('G.711 known code words', () => {
  it('maps silence and extremes to the standard codes', () => {
    // Standard values: mu-law silence 0xFF, A-law silence 0xD5, full-scale positive 0x80 / 0xAA.
    expect(mulawEncodeSample(0)).toBe(0xff);
    expect(alawEncodeSample(0)).toBe(0xd5);
    expect(mulawEncodeSample(32767)).toBe(0x80);
    expect(alawEncodeSample(32767)).toBe(0xaa);
    expect(mulawDecodeSample(0x80)).toBe(32124);
    expect(alawDecodeSample(0xaa)).toBe(32256);
  });
});
