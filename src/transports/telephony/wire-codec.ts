import type { LegEncoding } from '../../call/call-leg.ts';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../../media/g711.ts';
import { G722Decoder, G722Encoder } from '../../media/g722.ts';

/** Audio encodings the bridged platforms put on the wire. */
export type WireEncoding = 'mulaw' | 'alaw' | 'l16le' | 'l16be' | 'g722';

/** One call's audio codec on the wire, both directions (G.722 keeps state per direction). */
export interface WireCodec {
  readonly encoding: WireEncoding;
  /** PCM rate the codec works at. */
  readonly sampleRate: number;
  /** How the leg describes the wire audio: G.711 passes through to providers that speak it. */
  readonly legEncoding: LegEncoding;
  /** Bytes from the platform to PCM (a new array). An odd trailing byte of L16 is dropped. */
  decode(bytes: Uint8Array): Int16Array;
  /** One outbound frame (s16le PCM at `sampleRate`) to the platform's bytes. */
  encode(pcm: Buffer): Uint8Array;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function wireCodec(encoding: WireEncoding, sampleRate: number): WireCodec {
  switch (encoding) {
    case 'mulaw':
      return { encoding, sampleRate: 8000, legEncoding: 'mulaw', decode: (b) => mulawDecode(b), encode: (pcm) => mulawEncode(samplesOf(pcm)) };
    case 'alaw':
      return { encoding, sampleRate: 8000, legEncoding: 'alaw', decode: (b) => alawDecode(b), encode: (pcm) => alawEncode(samplesOf(pcm)) };
    case 'l16le':
      return { encoding, sampleRate, legEncoding: 'pcm_s16le', decode: (b) => readL16(b, false), encode: (pcm) => writeL16(pcm, false) };
    case 'l16be':
      return { encoding, sampleRate, legEncoding: 'pcm_s16le', decode: (b) => readL16(b, true), encode: (pcm) => writeL16(pcm, true) };
    case 'g722': {
      const dec = new G722Decoder();
      const enc = new G722Encoder();
      return { encoding, sampleRate: 16000, legEncoding: 'pcm_s16le', decode: (b) => dec.decode(b), encode: (pcm) => enc.encode(samplesOf(pcm)) };
    }
  }
}

/** The samples of an s16le buffer, viewed in place when aligned (PacedOutput's frames are). */
function samplesOf(pcm: Buffer): Int16Array {
  const n = pcm.byteLength >> 1;
  if (LITTLE_ENDIAN && (pcm.byteOffset & 1) === 0) return new Int16Array(pcm.buffer, pcm.byteOffset, n);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(2 * i);
  return out;
}

function readL16(bytes: Uint8Array, bigEndian: boolean): Int16Array {
  const n = bytes.byteLength >> 1;
  const out = new Int16Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, !bigEndian);
  return out;
}

function writeL16(pcm: Buffer, bigEndian: boolean): Uint8Array {
  if (!bigEndian) return pcm;
  const out = Buffer.allocUnsafe(pcm.byteLength & ~1);
  for (let i = 0; i < out.byteLength; i += 2) {
    out[i] = pcm[i + 1] as number;
    out[i + 1] = pcm[i] as number;
  }
  return out;
}

/**
 * An outbound frame padded with silence to `bytes` (a platform that drops short frames: chan_websocket
 * keeps only whole `optimal_frame_size` frames, Exotel wants at least 3.2 KB). PCM zero is silence in
 * every codec once encoded.
 */
export function padPcm(pcm: Buffer, bytes: number): Buffer {
  if (pcm.byteLength >= bytes) return pcm;
  const out = Buffer.alloc(bytes);
  pcm.copy(out);
  return out;
}
