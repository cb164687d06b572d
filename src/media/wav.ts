/**
 * WAV (RIFF/WAVE) reading and writing for fixtures and call recordings.
 *
 * Reading accepts what real tools write: PCM 8 (unsigned), 16, 24 and 32 bit, IEEE float 32/64,
 * G.711 A-law (format 6) and mu-law (format 7), WAVE_FORMAT_EXTENSIBLE wrapping any of those,
 * LIST/fact/other chunks anywhere, odd-sized chunks with their pad byte, and a data chunk whose
 * size runs past the end of the file (streamed or cut-off recordings: the whole frames present
 * are returned). Everything is converted to interleaved 16-bit PCM. Malformed input always gives
 * a CallroomError (`CR_WAV_INVALID`, or `CR_WAV_UNSUPPORTED` for a well-formed file in an encoding
 * we do not read), never a RangeError from a DataView.
 */
import { CallroomError } from '../core/errors.ts';
import { alawDecodeSample, mulawDecodeSample } from './g711.ts';

/** Decoded WAV audio: interleaved 16-bit samples (`samples.length` is frames * channels). */
export interface WavAudio {
  readonly sampleRate: number;
  readonly channels: number;
  readonly samples: Int16Array;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

interface FmtChunk {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function invalid(message: string): CallroomError {
  return new CallroomError('CR_WAV_INVALID', `invalid WAV: ${message}`);
}

function unsupported(message: string): CallroomError {
  return new CallroomError('CR_WAV_UNSUPPORTED', `unsupported WAV: ${message}`);
}

function fourcc(buf: Uint8Array, at: number): string {
  return String.fromCharCode(buf[at] ?? 0, buf[at + 1] ?? 0, buf[at + 2] ?? 0, buf[at + 3] ?? 0);
}

function parseFmt(view: DataView, at: number, size: number): FmtChunk {
  if (size < 16) throw invalid(`fmt chunk of ${size} bytes (at least 16 needed)`);
  let format = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (format === FORMAT_EXTENSIBLE) {
    // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID, whose first two bytes are the format code.
    if (size < 40) throw invalid(`WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes (40 needed)`);
    format = view.getUint16(at + 24, true);
  }
  if (channels === 0) throw invalid('zero channels');
  if (sampleRate === 0) throw invalid('zero sample rate');
  const bytesPerSample = bitsPerSample >> 3;
  if (bitsPerSample === 0 || bitsPerSample % 8 !== 0) throw unsupported(`${bitsPerSample} bits per sample`);
  if (blockAlign !== channels * bytesPerSample) {
    throw invalid(`block align ${blockAlign} does not match ${channels} channels of ${bitsPerSample} bits`);
  }
  const ok =
    (format === FORMAT_PCM && bytesPerSample >= 1 && bytesPerSample <= 4) ||
    (format === FORMAT_FLOAT && (bytesPerSample === 4 || bytesPerSample === 8)) ||
    ((format === FORMAT_ALAW || format === FORMAT_MULAW) && bytesPerSample === 1);
  if (!ok) throw unsupported(`format ${format} with ${bitsPerSample} bits per sample`);
  return { format, channels, sampleRate, blockAlign, bitsPerSample };
}

/** Float sample (full scale +-1.0) to 16 bits via the 32-bit scale, as sox converts it. */
function floatToInt16(v: number): number {
  if (!(v === v)) return 0; // NaN
  const s32 = Math.trunc(v * 2147483648);
  return roundTo16(s32 < -2147483648 ? -2147483648 : s32 > 2147483647 ? 2147483647 : s32);
}

/**
 * A 32-bit-scaled sample to 16 bits, rounding half up and clipping the top: the conversion sox
 * applies without dither, so fixtures read here match `sox in.wav -b 16 out.wav -D`.
 */
function roundTo16(v32: number): number {
  const s = Math.floor((v32 + 32768) / 65536);
  return s > 32767 ? 32767 : s;
}

function decodeData(view: DataView, at: number, count: number, fmt: FmtChunk): Int16Array {
  const out = new Int16Array(count);
  const bytes = fmt.bitsPerSample >> 3;
  if (fmt.format === FORMAT_ALAW || fmt.format === FORMAT_MULAW) {
    const decode = fmt.format === FORMAT_ALAW ? alawDecodeSample : mulawDecodeSample;
    for (let i = 0; i < count; i++) out[i] = decode(view.getUint8(at + i));
  } else if (fmt.format === FORMAT_FLOAT) {
    for (let i = 0; i < count; i++) {
      const p = at + i * bytes;
      out[i] = floatToInt16(bytes === 4 ? view.getFloat32(p, true) : view.getFloat64(p, true));
    }
  } else if (bytes === 1) {
    for (let i = 0; i < count; i++) out[i] = (view.getUint8(at + i) - 128) << 8;
  } else if (bytes === 2) {
    for (let i = 0; i < count; i++) out[i] = view.getInt16(at + 2 * i, true);
  } else if (bytes === 3) {
    for (let i = 0; i < count; i++) {
      const p = at + 3 * i;
      out[i] = roundTo16((view.getInt16(p + 1, true) * 256 + view.getUint8(p)) * 256);
    }
  } else {
    for (let i = 0; i < count; i++) out[i] = roundTo16(view.getInt32(at + 4 * i, true));
  }
  return out;
}

/**
 * Parse a WAV file into interleaved 16-bit PCM.
 * @throws CallroomError `CR_WAV_INVALID` for anything that is not a readable RIFF/WAVE file,
 *   `CR_WAV_UNSUPPORTED` for a valid file in an encoding not listed in the module doc.
 */
export function readWav(buf: Uint8Array): WavAudio {
  try {
    return parse(buf);
  } catch (err) {
    if (err instanceof CallroomError) throw err;
    // Belt and braces: the walk checks every bound, but a reader of untrusted files must not leak a RangeError.
    throw new CallroomError('CR_WAV_INVALID', 'invalid WAV: unreadable structure', { cause: err });
  }
}

function parse(buf: Uint8Array): WavAudio {
  if (buf.length < 12) throw invalid(`${buf.length} bytes is too short for a RIFF header`);
  const riff = fourcc(buf, 0);
  if (riff === 'RIFX' || riff === 'RF64') throw unsupported(`${riff} container`);
  if (riff !== 'RIFF' || fourcc(buf, 8) !== 'WAVE') throw invalid('no RIFF/WAVE header');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);

  let fmt: FmtChunk | undefined;
  let dataAt = -1;
  let dataSize = 0;
  // The RIFF size field is often wrong (streamed writers); walk the bytes actually present instead.
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = fourcc(buf, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    const available = buf.length - body;
    if (id === 'fmt ') {
      if (fmt !== undefined) throw invalid('second fmt chunk');
      if (size > available) throw invalid('fmt chunk truncated');
      fmt = parseFmt(view, body, size);
    } else if (id === 'data' && dataAt < 0) {
      dataAt = body;
      dataSize = Math.min(size, available);
    }
    if (size > available) break;
    at = body + size + (size & 1);
  }
  if (fmt === undefined) throw invalid('no fmt chunk');
  if (dataAt < 0) throw invalid('no data chunk');

  const frames = Math.floor(dataSize / fmt.blockAlign);
  const samples = decodeData(view, dataAt, frames * fmt.channels, fmt);
  return { sampleRate: fmt.sampleRate, channels: fmt.channels, samples };
}

/**
 * Write interleaved 16-bit PCM as a canonical 44-byte-header WAV file.
 * @throws CallroomError `CR_WAV_INVALID` if the rate or channel count is not a positive integer
 *   in range, or `samples.length` is not a whole number of frames.
 */
export function writeWav(samples: Int16Array, sampleRate: number, channels = 1): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) {
    throw new CallroomError('CR_WAV_INVALID', `cannot write WAV with sample rate ${sampleRate}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 0xffff) {
    throw new CallroomError('CR_WAV_INVALID', `cannot write WAV with ${channels} channels`);
  }
  if (samples.length % channels !== 0) {
    throw new CallroomError('CR_WAV_INVALID', `${samples.length} samples is not a whole number of ${channels}-channel frames`);
  }
  const blockAlign = channels * 2;
  const byteRate = sampleRate * blockAlign;
  const dataBytes = samples.length * 2;
  if (dataBytes > 0xffffffff - 36 || byteRate > 0xffffffff) {
    throw new CallroomError('CR_WAV_INVALID', 'audio too long for a RIFF file');
  }
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, byteRate, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) view.setInt16(44 + 2 * i, samples[i] as number, true);
  return out;
}

/**
 * Mix interleaved audio down to mono by averaging the channels (rounded). With one channel the
 * input array itself is returned.
 * @throws CallroomError `CR_WAV_INVALID` if `channels` is not a positive integer dividing the length.
 */
export function toMono(samples: Int16Array, channels: number): Int16Array {
  if (!Number.isInteger(channels) || channels < 1 || samples.length % channels !== 0) {
    throw new CallroomError('CR_WAV_INVALID', `${samples.length} samples cannot be split into ${channels} channels`);
  }
  if (channels === 1) return samples;
  const frames = samples.length / channels;
  const out = new Int16Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c] as number;
    out[f] = Math.round(sum / channels);
  }
  return out;
}
