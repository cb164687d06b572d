import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallroomError } from '../../../src/core/errors.ts';
import { G722Decoder, G722Encoder } from '../../../src/media/g722.ts';
import { writeWav } from '../../../src/media/wav.ts';

const RATE = 16000;
/** Samples of one 20 ms frame at 16 kHz, and its 64 kbit/s size. */
const FRAME = 320;
const FRAME_BYTES = 160;

const hasFfmpeg = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

/** Deterministic PRNG (mulberry32) so signals are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tone(freq: number, seconds: number, amplitude = 16384): Int16Array {
  const n = Math.round(seconds * RATE);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / RATE));
  return out;
}

/**
 * Speech-like test signal: a gliding 110-220 Hz glottal pulse train shaped by two moving formant
 * resonators, syllable-rate amplitude envelope, fricative noise bursts and a short silence.
 */
function speechLike(seconds: number, seed: number): Int16Array {
  const n = Math.round(seconds * RATE);
  const out = new Int16Array(n);
  const rand = rng(seed);
  let phase = 0;
  const res = [
    { y1: 0, y2: 0 },
    { y1: 0, y2: 0 },
  ];
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    const f0 = 165 + 55 * Math.sin(2 * Math.PI * 0.7 * t);
    phase += f0 / RATE;
    let x = 0;
    if (phase >= 1) {
      phase -= 1;
      x = 1;
    }
    let y = x;
    const formants = [700 + 300 * Math.sin(2 * Math.PI * 1.3 * t), 1800 + 600 * Math.sin(2 * Math.PI * 0.9 * t)];
    for (let k = 0; k < 2; k++) {
      const r = 0.97;
      const w = (2 * Math.PI * (formants[k] as number)) / RATE;
      const st = res[k] as { y1: number; y2: number };
      const v = y + 2 * r * Math.cos(w) * st.y1 - r * r * st.y2;
      st.y2 = st.y1;
      st.y1 = v;
      y = v;
    }
    const syllable = 0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t);
    const fricative = Math.sin(2 * Math.PI * 1.1 * t) > 0.8 ? (rand() - 0.5) * 6000 : 0;
    const silent = t > seconds * 0.45 && t < seconds * 0.55;
    const v = silent ? 0 : y * 40 * syllable + fricative;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function concatPcm(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Integer-only input for the golden vector (no Math.sin, so it is the same on any engine):
 * a 16-step sawtooth at 500 Hz plus LCG noise, one second at 16 kHz.
 */
function goldenInput(): Int16Array {
  const x = new Int16Array(RATE);
  let lcg = 12345;
  for (let i = 0; i < x.length; i++) {
    lcg = (Math.imul(lcg, 1103515245) + 12345) >>> 0;
    x[i] = ((i & 31) - 16) * 900 + ((lcg >>> 20) - 2048);
  }
  return x;
}

/**
 * SHA-256 of ffmpeg 5.1's `-c:a g722` encoding of goldenInput() and of ffmpeg's decode of it.
 * The interop suite re-derives both from ffmpeg whenever it is installed.
 */
const GOLDEN_BITS_SHA = '36ec58fff1ed0260909635a3199456f2660a2cf42a4f2b1752ab88b26643f89b';
const GOLDEN_PCM_SHA = '13822938fe5dbf102d069c7d0a1e68bf23bd1288603d09037c93ddbae3febbcd';

function roundTrip(pcm: Int16Array): Int16Array {
  return new G722Decoder().decode(new G722Encoder().encode(pcm));
}

/** SNR in dB of `y` delayed by `lag` against `x`, skipping the first `skip` samples of adaptation. */
function snrDb(x: Int16Array, y: Int16Array, lag: number, skip: number): number {
  let sig = 0;
  let err = 0;
  for (let i = skip; i + lag < y.length && i < x.length; i++) {
    const a = x[i] as number;
    const d = a - (y[i + lag] as number);
    sig += a * a;
    err += d * d;
  }
  return 10 * Math.log10(sig / err);
}

/** Normalised cross-correlation of two equal-length signals at lag 0. */
function ncc(a: Int16Array, b: Int16Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

function sha256(data: Uint8Array | Int16Array): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

describe('G.722 encoder/decoder', () => {
  it('has the codec delay of the QMF pair: 22 samples, found by cross-correlation of noise', () => {
    const rand = rng(7);
    const x = new Int16Array(RATE);
    for (let i = 0; i < x.length; i++) x[i] = Math.round((rand() - 0.5) * 12000);
    const y = roundTrip(x);
    let bestLag = -1;
    let best = -Infinity;
    for (let lag = 0; lag < 100; lag++) {
      const c = ncc(x.subarray(0, x.length - 100), y.subarray(lag, lag + x.length - 100));
      if (c > best) {
        best = c;
        bestLag = lag;
      }
    }
    expect(bestLag).toBe(22);
    expect(best).toBeGreaterThan(0.9);
  });

  it.each([300, 1000, 3000, 6000])('round-trips a %i Hz tone at -6 dBFS with SNR >= 20 dB', (freq) => {
    const x = tone(freq, 1);
    const y = roundTrip(x);
    expect(y.length).toBe(x.length);
    expect(snrDb(x, y, 22, 1600)).toBeGreaterThanOrEqual(20);
  });

  it('keeps silence silent and the level of a tone', () => {
    const silence = roundTrip(new Int16Array(RATE));
    expect(Math.max(...Array.from(silence, Math.abs))).toBeLessThan(16);
    const y = roundTrip(tone(1000, 1));
    const peak = Math.max(...Array.from(y.subarray(1600), Math.abs));
    expect(peak).toBeGreaterThan(15000);
    expect(peak).toBeLessThan(17800);
  });

  it('produces 160 bytes per 20 ms frame and 320 samples per 160 bytes', () => {
    const enc = new G722Encoder();
    expect(enc.encode(tone(1000, 0.02)).length).toBe(FRAME_BYTES);
    expect(new G722Decoder().decode(new Uint8Array(FRAME_BYTES)).length).toBe(FRAME);
  });

  it('encodes 20 ms chunks byte-identically to one call over the whole buffer', () => {
    const x = speechLike(2, 11);
    const whole = new G722Encoder().encode(x);
    const enc = new G722Encoder();
    const out = new Uint8Array(FRAME_BYTES);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < x.length; i += FRAME) chunks.push(enc.encode(x.subarray(i, i + FRAME), out).slice());
    expect(sha256(concat(chunks))).toBe(sha256(whole));

    // Odd and irregular chunk sizes: the held odd sample carries over to the next call.
    const rand = rng(3);
    const enc2 = new G722Encoder();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < x.length; ) {
      const len = 1 + Math.floor(rand() * 401);
      parts.push(enc2.encode(x.subarray(i, i + len)));
      i += len;
    }
    expect(sha256(concat(parts))).toBe(sha256(whole));
  });

  it('decodes 20 ms chunks identically to one call over the whole bitstream', () => {
    const bits = new G722Encoder().encode(speechLike(2, 12));
    const whole = new G722Decoder().decode(bits);
    const dec = new G722Decoder();
    const frame = new Int16Array(FRAME);
    const got = new Int16Array(whole.length);
    for (let i = 0; i < bits.length; i += FRAME_BYTES) {
      got.set(dec.decode(bits.subarray(i, i + FRAME_BYTES), frame), i * 2);
    }
    expect(sha256(got)).toBe(sha256(whole));
  });

  it('reset() returns encoder and decoder to the initial state', () => {
    const x = speechLike(0.5, 13);
    const enc = new G722Encoder();
    const first = enc.encode(x);
    enc.encode(tone(3000, 0.3).subarray(1)); // odd length leaves a held sample
    enc.reset();
    expect(sha256(enc.encode(x))).toBe(sha256(first));

    const dec = new G722Decoder();
    const y1 = dec.decode(first);
    dec.decode(new Uint8Array(500).fill(0x9c));
    dec.reset();
    expect(sha256(dec.decode(first))).toBe(sha256(y1));
  });

  it('reuses out buffers and rejects ones that are too small', () => {
    const enc = new G722Encoder();
    const big = new Uint8Array(1000);
    const bytes = enc.encode(tone(1000, 0.02), big);
    expect(bytes.length).toBe(FRAME_BYTES);
    expect(bytes.buffer).toBe(big.buffer);
    expect(() => enc.encode(tone(1000, 0.02), new Uint8Array(10))).toThrow(CallroomError);
    const pcm = new Int16Array(FRAME * 2);
    const dec = new G722Decoder();
    expect(dec.decode(bytes, pcm).length).toBe(FRAME);
    expect(dec.decode(bytes, pcm).buffer).toBe(pcm.buffer);
    try {
      dec.decode(bytes, new Int16Array(FRAME - 1));
      expect.fail('expected a CallroomError');
    } catch (e) {
      expect((e as CallroomError).code).toBe('CR_CODEC_BUFFER');
    }
  });

  it('decodes arbitrary bytes without throwing and stays within int16', () => {
    const rand = rng(99);
    const garbage = new Uint8Array(RATE);
    for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rand() * 256);
    const dec = new G722Decoder();
    const y = dec.decode(garbage);
    expect(y.length).toBe(2 * RATE);
    for (const v of [0x00, 0xff, 0x3f, 0xc0]) {
      const z = dec.decode(new Uint8Array(4000).fill(v));
      expect(z.every((s) => Number.isInteger(s) && s >= -32768 && s <= 32767)).toBe(true);
    }
  });

  it('survives full-scale square waves and clipping input', () => {
    const sq = new Int16Array(RATE);
    for (let i = 0; i < sq.length; i++) sq[i] = (i >> 4) & 1 ? 32767 : -32768;
    const y = roundTrip(sq);
    expect(y.length).toBe(sq.length);
    // Still tracks the square wave's fundamental: strongly correlated with the input at the codec delay.
    expect(ncc(sq.subarray(1600, RATE - 22), y.subarray(1622, RATE))).toBeGreaterThan(0.9);
  });
});

describe('G.722 golden vector', () => {
  it('encodes and decodes the golden input exactly as ffmpeg did (runs without ffmpeg)', () => {
    const bits = new G722Encoder().encode(goldenInput());
    expect(sha256(bits)).toBe(GOLDEN_BITS_SHA);
    expect(sha256(new G722Decoder().decode(bits))).toBe(GOLDEN_PCM_SHA);
  });
});

describe('G.722 interop with ffmpeg', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'callroom-g722-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function ffmpeg(args: string[]): void {
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  }

  function ffmpegDecode(bits: Uint8Array, name: string): Int16Array {
    const inPath = join(dir, `${name}.g722`);
    const outPath = join(dir, `${name}.raw`);
    writeFileSync(inPath, bits);
    ffmpeg(['-f', 'g722', '-i', inPath, '-f', 's16le', '-ac', '1', '-ar', String(RATE), outPath]);
    const b = readFileSync(outPath);
    return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  }

  function fullScaleNoise(seconds: number): Int16Array {
    const rand = rng(5);
    const x = new Int16Array(Math.round(seconds * RATE));
    for (let i = 0; i < x.length; i++) x[i] = rand() < 0.5 ? -32768 + Math.floor(rand() * 2000) : 32767 - Math.floor(rand() * 2000);
    return x;
  }

  const signals: ReadonlyArray<readonly [string, () => Int16Array]> = [
    ['speech-like', () => speechLike(3, 21)],
    ['tone sweep', () => concatPcm([300, 1000, 3000, 6000, 7500].map((f) => tone(f, 0.4)))],
    ['full-scale noise', () => fullScaleNoise(1)],
    ['golden vector', () => goldenInput()],
  ];

  it.each(signals)('%s: ffmpeg encoding of a WAV equals ours byte for byte, and both decoders agree', (name, make) => {
    const pcm = make();
    const wavPath = join(dir, `${name}.wav`);
    const ffBitsPath = join(dir, `${name}-ff.g722`);
    writeFileSync(wavPath, writeWav(pcm, RATE));
    ffmpeg(['-i', wavPath, '-c:a', 'g722', '-f', 'g722', ffBitsPath]);
    const ffBits = new Uint8Array(readFileSync(ffBitsPath));

    const ourBits = new G722Encoder().encode(pcm);
    expect(ffBits.length).toBe(ourBits.length);
    expect(sha256(ourBits)).toBe(sha256(ffBits));

    // Decode ffmpeg's bitstream with ours, ours with ffmpeg: both must equal ffmpeg's decode.
    const oursOfFf = new G722Decoder().decode(ffBits);
    const ffOfFf = ffmpegDecode(ffBits, `${name}-ffdec`);
    const ffOfOurs = ffmpegDecode(ourBits, `${name}-oursdec`);
    expect(ffOfFf.length).toBe(oursOfFf.length);
    let maxDiff = 0;
    for (let i = 0; i < oursOfFf.length; i++) maxDiff = Math.max(maxDiff, Math.abs((oursOfFf[i] as number) - (ffOfFf[i] as number)));
    expect(maxDiff).toBe(0);
    expect(sha256(ffOfOurs)).toBe(sha256(new G722Decoder().decode(ourBits)));
    expect(ncc(oursOfFf, ffOfFf)).toBeGreaterThanOrEqual(0.99);
    if (name === 'golden vector') {
      expect(sha256(ffBits)).toBe(GOLDEN_BITS_SHA);
      expect(sha256(ffOfFf)).toBe(GOLDEN_PCM_SHA);
    }
  });
});
