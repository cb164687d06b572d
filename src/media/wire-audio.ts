import type { AudioFrame } from '../core/audio-frame.ts';
import { alawDecode, mulawDecode } from './g711.ts';

/**
 * Wire audio as a PCM frame: G.711 code words decoded (8 kHz), or s16le bytes read as samples at
 * `pcmRate` (an odd trailing byte is ignored). For media that take `writeEncoded` bytes but play PCM.
 */
export function wireToFrame(bytes: Uint8Array, encoding: 'pcm_s16le' | 'mulaw' | 'alaw', pcmRate: number): AudioFrame {
  if (encoding === 'mulaw') return { samples: mulawDecode(bytes), sampleRate: 8000, timestamp: 0 };
  if (encoding === 'alaw') return { samples: alawDecode(bytes), sampleRate: 8000, timestamp: 0 };
  const samples = new Int16Array(bytes.byteLength >> 1);
  new Uint8Array(samples.buffer).set(bytes.subarray(0, samples.byteLength));
  return { samples, sampleRate: pcmRate, timestamp: 0 };
}
