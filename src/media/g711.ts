/**
 * G.711 mu-law and A-law (ITU-T G.711) for 16-bit linear PCM.
 *
 * The hot path is two table look-ups per sample: a 65,536-entry encode table indexed by the
 * sample's 16-bit pattern and a 256-entry decode table. Both are built once at module load from
 * the reference formulas below, which follow the classic CCITT 16-bit linear code (bias 0x84,
 * clip 32635) so that results are identical to the `alawmulaw` package, the interop reference
 * the tests compare against for every input.
 */
import { CallroomError } from '../core/errors.ts';

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;
const ALAW_CLIP = 32635;

/** Index of the highest set bit of `v` (0 for v <= 1); v < 256 here. */
function topBit(v: number): number {
  return v <= 1 ? 0 : 31 - Math.clz32(v);
}

/** Reference mu-law encoder for one int16 sample (sign-magnitude, bias, segment, 4-bit mantissa, inverted). */
function mulawEncodeRef(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let mag = sign !== 0 ? -sample : sample;
  mag += MULAW_BIAS;
  if (mag > MULAW_CLIP) mag = MULAW_CLIP;
  const exponent = topBit(mag >> 7);
  const mantissa = (mag >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Reference mu-law decoder: the segment's biased midpoint minus the bias. */
function mulawDecodeRef(code: number): number {
  const c = ~code & 0xff;
  const exponent = (c >> 4) & 0x07;
  const mantissa = c & 0x0f;
  const mag = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return (c & 0x80) !== 0 ? -mag : mag;
}

/**
 * Reference A-law encoder. -32768 is folded to -32767 first so that its magnitude fits, the
 * same as the CCITT code; even bits are inverted (xor 0x55) as the standard requires.
 */
function alawEncodeRef(sample: number): number {
  const s = sample === -32768 ? -32767 : sample;
  const sign = s >= 0 ? 0x80 : 0;
  let mag = s >= 0 ? s : -s;
  if (mag > ALAW_CLIP) mag = ALAW_CLIP;
  let companded: number;
  if (mag >= 256) {
    const exponent = topBit(mag >> 8) + 1;
    companded = (exponent << 4) | ((mag >> (exponent + 3)) & 0x0f);
  } else {
    companded = mag >> 4;
  }
  return (companded ^ sign ^ 0x55) & 0xff;
}

/** Reference A-law decoder: midpoint of the quantisation interval, bit 7 set means positive. */
function alawDecodeRef(code: number): number {
  const a = (code ^ 0x55) & 0xff;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const mag = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (a & 0x80) !== 0 ? mag : -mag;
}

function buildEncodeTable(encode: (s: number) => number): Uint8Array {
  const table = new Uint8Array(65536);
  for (let u = 0; u < 65536; u++) table[u] = encode((u << 16) >> 16);
  return table;
}

function buildDecodeTable(decode: (c: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let c = 0; c < 256; c++) table[c] = decode(c);
  return table;
}

const MULAW_ENC = buildEncodeTable(mulawEncodeRef);
const MULAW_DEC = buildDecodeTable(mulawDecodeRef);
const ALAW_ENC = buildEncodeTable(alawEncodeRef);
const ALAW_DEC = buildDecodeTable(alawDecodeRef);

/** Clamp any number to an int16 pattern 0..65535 for a table index (NaN reads as 0). */
function sampleIndex(s: number): number {
  if (s > 32767) return 32767;
  if (s < -32768) return 0x8000;
  return (s | 0) & 0xffff;
}

function outBytes(out: Uint8Array | undefined, n: number): Uint8Array {
  if (out === undefined) return new Uint8Array(n);
  if (out.length < n) {
    throw new CallroomError('CR_CODEC_BUFFER', `output buffer holds ${out.length} bytes, ${n} needed`);
  }
  return out.length === n ? out : out.subarray(0, n);
}

function outSamples(out: Int16Array | undefined, n: number): Int16Array {
  if (out === undefined) return new Int16Array(n);
  if (out.length < n) {
    throw new CallroomError('CR_CODEC_BUFFER', `output buffer holds ${out.length} samples, ${n} needed`);
  }
  return out.length === n ? out : out.subarray(0, n);
}

function encodeWith(table: Uint8Array, pcm: Int16Array, out: Uint8Array | undefined): Uint8Array {
  const n = pcm.length;
  const dst = outBytes(out, n);
  for (let i = 0; i < n; i++) dst[i] = table[(pcm[i] as number) & 0xffff] as number;
  return dst;
}

function decodeWith(table: Int16Array, codes: Uint8Array, out: Int16Array | undefined): Int16Array {
  const n = codes.length;
  const dst = outSamples(out, n);
  for (let i = 0; i < n; i++) dst[i] = table[codes[i] as number] as number;
  return dst;
}

/**
 * Encode 16-bit PCM to mu-law (PCMU), one byte per sample. With `out` (at least `pcm.length`
 * bytes) nothing is allocated and the returned array is `out` or a subarray of it.
 * @throws CallroomError `CR_CODEC_BUFFER` if `out` is too small (a programming error).
 */
export function mulawEncode(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  return encodeWith(MULAW_ENC, pcm, out);
}

/** Decode mu-law bytes to 16-bit PCM; `out` as for {@link mulawEncode}. */
export function mulawDecode(codes: Uint8Array, out?: Int16Array): Int16Array {
  return decodeWith(MULAW_DEC, codes, out);
}

/** Encode 16-bit PCM to A-law (PCMA); `out` as for {@link mulawEncode}. */
export function alawEncode(pcm: Int16Array, out?: Uint8Array): Uint8Array {
  return encodeWith(ALAW_ENC, pcm, out);
}

/** Decode A-law bytes to 16-bit PCM; `out` as for {@link mulawEncode}. */
export function alawDecode(codes: Uint8Array, out?: Int16Array): Int16Array {
  return decodeWith(ALAW_DEC, codes, out);
}

/** mu-law code (0..255) of one sample; values outside int16 are clamped, fractions truncated. */
export function mulawEncodeSample(s: number): number {
  return MULAW_ENC[sampleIndex(s)] as number;
}

/** Linear value of one mu-law code (only the low 8 bits of `c` are used). */
export function mulawDecodeSample(c: number): number {
  return MULAW_DEC[c & 0xff] as number;
}

/** A-law code (0..255) of one sample; values outside int16 are clamped, fractions truncated. */
export function alawEncodeSample(s: number): number {
  return ALAW_ENC[sampleIndex(s)] as number;
}

/** Linear value of one A-law code (only the low 8 bits of `c` are used). */
export function alawDecodeSample(c: number): number {
  return ALAW_DEC[c & 0xff] as number;
}
