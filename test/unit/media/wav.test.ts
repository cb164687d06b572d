import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallroomError } from '../../../src/core/errors.ts';
import { alawDecode, mulawDecode } from '../../../src/media/g711.ts';
import { readWav, toMono, writeWav } from '../../../src/media/wav.ts';

const hasSox = spawnSync('sox', ['--version'], { stdio: 'ignore' }).status === 0;

function u16(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff];
}
function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

/** One RIFF chunk; the pad byte after an odd body is added unless `pad` is false. */
function chunk(id: string, body: ArrayLike<number>, pad = true): number[] {
  const out = [...ascii(id), ...u32(body.length), ...Array.from(body)];
  if (pad && body.length % 2 === 1) out.push(0);
  return out;
}

function riff(...chunks: number[][]): Uint8Array {
  const body = chunks.flat();
  return new Uint8Array([...ascii('RIFF'), ...u32(4 + body.length), ...ascii('WAVE'), ...body]);
}

function fmt(format: number, channels: number, rate: number, bits: number, extensible = false): number[] {
  const block = channels * (bits >> 3);
  const base = [...u16(extensible ? 0xfffe : format), ...u16(channels), ...u32(rate), ...u32(rate * block), ...u16(block), ...u16(bits)];
  if (!extensible) return chunk('fmt ', base);
  // cbSize 22, valid bits, channel mask, then the sub-format GUID xxxx0000-0000-0010-8000-00aa00389b71.
  const guid = [...u16(format), 0, 0, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
  return chunk('fmt ', [...base, ...u16(22), ...u16(bits), ...u32(channels === 2 ? 3 : 4), ...guid]);
}

function pcmBytes(samples: readonly number[]): number[] {
  return samples.flatMap((s) => u16(s & 0xffff));
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectCode(fn: () => unknown, code: string): void {
  const err = errorOf(fn);
  expect(err).toBeInstanceOf(CallroomError);
  expect((err as CallroomError).code).toBe(code);
}

describe('writeWav / readWav', () => {
  it('round-trips mono and stereo 16-bit audio', () => {
    const mono = new Int16Array([0, 1, -1, 32767, -32768, 12345, -12345]);
    const back = readWav(writeWav(mono, 8000));
    expect(back.sampleRate).toBe(8000);
    expect(back.channels).toBe(1);
    expect(Array.from(back.samples)).toEqual(Array.from(mono));

    const stereo = new Int16Array(2 * 1000);
    for (let i = 0; i < stereo.length; i++) stereo[i] = ((i * 7919) % 65536) - 32768;
    const s = readWav(writeWav(stereo, 48000, 2));
    expect(s.channels).toBe(2);
    expect(s.sampleRate).toBe(48000);
    expect(Array.from(s.samples)).toEqual(Array.from(stereo));
  });

  it('writes the canonical 44-byte header', () => {
    const wav = writeWav(new Int16Array([1, -2, 3, -4]), 16000, 2);
    const v = new DataView(wav.buffer);
    expect(wav.length).toBe(44 + 8);
    expect(String.fromCharCode(...wav.subarray(0, 4))).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(36 + 8);
    expect(String.fromCharCode(...wav.subarray(8, 16))).toBe('WAVEfmt ');
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1);
    expect(v.getUint16(22, true)).toBe(2);
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(64000);
    expect(v.getUint16(32, true)).toBe(4);
    expect(v.getUint16(34, true)).toBe(16);
    expect(String.fromCharCode(...wav.subarray(36, 40))).toBe('data');
    expect(v.getUint32(40, true)).toBe(8);
    expect(v.getInt16(46, true)).toBe(-2);
  });

  it('round-trips an empty recording', () => {
    const r = readWav(writeWav(new Int16Array(0), 8000));
    expect(r.samples.length).toBe(0);
  });

  it('rejects impossible write arguments', () => {
    expectCode(() => writeWav(new Int16Array(3), 8000, 2), 'CR_WAV_INVALID');
    expectCode(() => writeWav(new Int16Array(2), 0), 'CR_WAV_INVALID');
    expectCode(() => writeWav(new Int16Array(2), 8000.5), 'CR_WAV_INVALID');
    expectCode(() => writeWav(new Int16Array(2), 8000, 0), 'CR_WAV_INVALID');
  });

  it('reads a subarray view at a non-zero offset', () => {
    const wav = writeWav(new Int16Array([5, -6, 7]), 8000);
    const padded = new Uint8Array(wav.length + 3);
    padded.set(wav, 3);
    expect(Array.from(readWav(padded.subarray(3)).samples)).toEqual([5, -6, 7]);
  });
});

describe('readWav formats', () => {
  it('reads 8-bit unsigned PCM', () => {
    const r = readWav(riff(fmt(1, 1, 8000, 8), chunk('data', [0, 128, 255, 1])));
    expect(Array.from(r.samples)).toEqual([-32768, 0, 32512, -32512]);
  });

  it('reads mu-law (7) and A-law (6) by decoding', () => {
    const codes = [0x00, 0x7f, 0x80, 0xff, 0x55, 0xd5, 0x2a];
    const mu = readWav(riff(fmt(7, 1, 8000, 8), chunk('data', codes)));
    expect(Array.from(mu.samples)).toEqual(Array.from(mulawDecode(new Uint8Array(codes))));
    const a = readWav(riff(fmt(6, 1, 8000, 8), chunk('data', codes)));
    expect(Array.from(a.samples)).toEqual(Array.from(alawDecode(new Uint8Array(codes))));
  });

  it('reads 24- and 32-bit PCM and float, rounding to 16 bits', () => {
    const s24 = readWav(riff(fmt(1, 1, 8000, 24), chunk('data', [0x80, 0x34, 0x12, 0x7f, 0x34, 0x12, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x80])));
    expect(Array.from(s24.samples)).toEqual([0x1235, 0x1234, 32767, -32768]);
    const s32 = readWav(riff(fmt(1, 1, 8000, 32), chunk('data', [...u32(0x12348000), ...u32(0x7fffffff), ...u32(0x80000000)])));
    expect(Array.from(s32.samples)).toEqual([0x1235, 32767, -32768]);
    const f = new DataView(new ArrayBuffer(20));
    [0.5, -0.5, 2, -2, NaN].forEach((v, i) => f.setFloat32(4 * i, v, true));
    const sf = readWav(riff(fmt(3, 1, 8000, 32), chunk('data', new Uint8Array(f.buffer))));
    expect(Array.from(sf.samples)).toEqual([16384, -16384, 32767, -32768, 0]);
  });

  it('reads WAVE_FORMAT_EXTENSIBLE with a PCM sub-format', () => {
    const r = readWav(riff(fmt(1, 2, 16000, 16, true), chunk('data', pcmBytes([1, 2, 3, 4]))));
    expect(r.channels).toBe(2);
    expect(Array.from(r.samples)).toEqual([1, 2, 3, 4]);
  });

  it('rejects well-formed files in encodings it does not read with CR_WAV_UNSUPPORTED', () => {
    expectCode(() => readWav(riff(fmt(2, 1, 8000, 4), chunk('data', [1, 2]))), 'CR_WAV_UNSUPPORTED'); // MS ADPCM, 4 bit
    expectCode(() => readWav(riff(fmt(0x55, 1, 8000, 16), chunk('data', [1, 2]))), 'CR_WAV_UNSUPPORTED'); // MP3
    expectCode(() => readWav(new Uint8Array([...ascii('RIFX'), ...u32(4), ...ascii('WAVE')])), 'CR_WAV_UNSUPPORTED');
  });
});

describe('readWav chunk walking', () => {
  it('skips LIST and fact chunks, odd-sized chunks with their pad byte, and finds data before fmt', () => {
    const data = chunk('data', pcmBytes([100, -100, 200]));
    const list = chunk('LIST', [...ascii('INFOISFT'), ...u32(5), ...ascii('sox\0\0')]);
    const odd = chunk('junk', [1, 2, 3]); // 3 bytes + pad
    const fact = chunk('fact', u32(3));
    for (const file of [
      riff(list, fmt(1, 1, 8000, 16), fact, odd, data),
      riff(odd, data, list, fmt(1, 1, 8000, 16)),
      riff(fmt(1, 1, 8000, 16), data, odd, list),
    ]) {
      const r = readWav(file);
      expect(Array.from(r.samples)).toEqual([100, -100, 200]);
    }
  });

  it('returns the whole frames of a data chunk that runs past the end of the file', () => {
    const file = riff(fmt(1, 2, 8000, 16), chunk('data', pcmBytes([1, 2, 3, 4, 5, 6])));
    // Cut inside the third frame: two whole frames remain.
    expect(Array.from(readWav(file.subarray(0, file.length - 3)).samples)).toEqual([1, 2, 3, 4]);
    // A streaming writer's 0xFFFFFFFF data size.
    const streamed = file.slice();
    new DataView(streamed.buffer).setUint32(streamed.length - 12 - 4, 0xffffffff, true);
    expect(Array.from(readWav(streamed).samples)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('ignores a wrong RIFF size field and trailing bytes', () => {
    const file = writeWav(new Int16Array([9, 8, 7]), 8000);
    const wrong = new Uint8Array([...file, 0, 1, 2]);
    new DataView(wrong.buffer).setUint32(4, 5, true);
    expect(Array.from(readWav(wrong).samples)).toEqual([9, 8, 7]);
  });

  it('rejects malformed headers with CR_WAV_INVALID', () => {
    const data = chunk('data', pcmBytes([1]));
    expectCode(() => readWav(new Uint8Array(0)), 'CR_WAV_INVALID');
    expectCode(() => readWav(new Uint8Array([...ascii('RIFF'), 0, 0, 0, 0, ...ascii('AVI ')])), 'CR_WAV_INVALID');
    expectCode(() => readWav(riff(data)), 'CR_WAV_INVALID'); // no fmt
    expectCode(() => readWav(riff(fmt(1, 1, 8000, 16))), 'CR_WAV_INVALID'); // no data
    expectCode(() => readWav(riff(fmt(1, 0, 8000, 16), data)), 'CR_WAV_INVALID'); // zero channels
    expectCode(() => readWav(riff(fmt(1, 1, 0, 16), data)), 'CR_WAV_INVALID'); // zero rate
    expectCode(() => readWav(riff(chunk('fmt ', [1, 0, 1, 0]), data)), 'CR_WAV_INVALID'); // short fmt
    expectCode(() => readWav(riff(fmt(1, 1, 8000, 16), fmt(1, 1, 8000, 16), data)), 'CR_WAV_INVALID');
    const badAlign = riff(fmt(1, 2, 8000, 16), data);
    new DataView(badAlign.buffer).setUint16(12 + 8 + 12, 3, true);
    expectCode(() => readWav(badAlign), 'CR_WAV_INVALID');
    expectCode(() => readWav(riff(fmt(1, 1, 8000, 16, true).slice(0, 8 + 30), data)), 'CR_WAV_INVALID');
  });

  it('every truncation of a valid file either parses or throws CR_WAV_INVALID', () => {
    const file = riff(chunk('LIST', [1, 2, 3, 4, 5]), fmt(1, 2, 8000, 16), chunk('data', pcmBytes([1, 2, 3, 4, 5, 6])));
    let parsed = 0;
    for (let len = 0; len <= file.length; len++) {
      const err = errorOf(() => readWav(file.subarray(0, len)));
      if (err === undefined) parsed++;
      else expect((err as CallroomError).code, `length ${len}`).toBe('CR_WAV_INVALID');
    }
    // Exactly the prefixes that contain the whole data chunk header parse: 12 data bytes, so 13 lengths.
    expect(parsed).toBe(12 + 1);
  });

  it('never throws anything but a CallroomError on garbage or corrupted files', () => {
    const valid = riff(fmt(1, 1, 8000, 16), chunk('LIST', [1, 2, 3]), chunk('data', pcmBytes([1, 2, 3, 4])));
    const check = (buf: Uint8Array): void => {
      const err = errorOf(() => readWav(buf));
      if (err !== undefined && !(err instanceof CallroomError)) throw err;
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(b)), { numRuns: 500 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), (edits) => {
        const b = valid.slice();
        for (const [at, v] of edits) b[at] = v;
        check(b);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('toMono', () => {
  it('averages interleaved channels with rounding and passes mono through', () => {
    expect(Array.from(toMono(new Int16Array([100, 200, -3, -4, 32767, 32767]), 2))).toEqual([150, -3, 32767]);
    const mono = new Int16Array([1, 2]);
    expect(toMono(mono, 1)).toBe(mono);
    expect(Array.from(toMono(new Int16Array([3, 6, 9]), 3))).toEqual([6]);
    expectCode(() => toMono(new Int16Array(3), 2), 'CR_WAV_INVALID');
  });
});

describe('readWav on files made by sox', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'callroom-wav-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function sox(args: string[]): void {
    const r = spawnSync('sox', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sox failed: ${r.stderr}`);
  }

  /** What sox itself decodes the file to, as 16-bit native samples (no dither). */
  function soxDecode(path: string): Int16Array {
    const raw = join(dir, 'decoded.raw');
    sox(['-D', path, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-L', raw]);
    const b = readFileSync(raw);
    return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  }

  it.each([
    ['16-bit stereo', ['-e', 'signed-integer', '-b', '16', '-c', '2']],
    ['8-bit unsigned', ['-e', 'unsigned-integer', '-b', '8', '-c', '1']],
    ['24-bit', ['-e', 'signed-integer', '-b', '24', '-c', '1']],
    ['32-bit', ['-e', 'signed-integer', '-b', '32', '-c', '1']],
    ['float', ['-e', 'floating-point', '-b', '32', '-c', '1']],
    ['mu-law', ['-e', 'mu-law', '-c', '1']],
    ['A-law', ['-e', 'a-law', '-c', '1']],
  ])('%s matches what sox decodes', (_name, enc) => {
    const path = join(dir, 'made.wav');
    // Two tones and noise, -3 dB so nothing clips; sox writes WAVE_FORMAT_EXTENSIBLE for some of these.
    sox(['-D', '-n', '-r', '8000', ...enc, path, 'synth', '0.25', 'sine', '440', 'sine', '1250', 'whitenoise', 'gain', '-3']);
    const r = readWav(new Uint8Array(readFileSync(path)));
    const channels = enc[enc.indexOf('-c') + 1] === '2' ? 2 : 1;
    expect(r.sampleRate).toBe(8000);
    expect(r.channels).toBe(channels);
    expect(r.samples.length).toBe(2000 * channels);
    const ref = soxDecode(path);
    expect(Array.from(r.samples)).toEqual(Array.from(ref));
    if (channels === 2) expect(toMono(r.samples, 2).length).toBe(2000);
  });
});
