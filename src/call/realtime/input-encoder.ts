/**
 * Caller PCM frames to the bytes a realtime session takes: resampled to its rate (one streaming
 * resampler, rebuilt if the leg's rate changes, e.g. a re-INVITE from G.722 to PCMU) and encoded as
 * little-endian 16-bit PCM or G.711. The returned bytes are a view reused by the next call (the
 * session copies what it is given). And the other way: a model's PCM bytes as samples.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { alawEncode, mulawEncode } from '../../media/g711.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import type { RealtimeAudioFormat } from '../../providers/types.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class InputEncoder {
  readonly #format: RealtimeAudioFormat;
  #resampler: Resampler | undefined;
  #fromRate = 0;
  #codes = new Uint8Array(0);

  constructor(format: RealtimeAudioFormat) {
    this.#format = format;
  }

  encode(frame: AudioFrame): Uint8Array {
    const pcm = this.#rate(frame);
    if (pcm.length === 0) return new Uint8Array(0);
    switch (this.#format.encoding) {
      case 'pcm_s16le':
        return pcmBytes(pcm);
      case 'mulaw':
        return mulawEncode(pcm, this.#buffer(pcm.length));
      case 'alaw':
        return alawEncode(pcm, this.#buffer(pcm.length));
    }
  }

  close(): void {
    this.#resampler?.close();
    this.#resampler = undefined;
  }

  #rate(frame: AudioFrame): Int16Array {
    if (frame.sampleRate === this.#format.sampleRate) return frame.samples;
    if (this.#resampler === undefined || this.#fromRate !== frame.sampleRate) {
      this.#resampler?.close();
      this.#resampler = createResampler(frame.sampleRate, this.#format.sampleRate);
      this.#fromRate = frame.sampleRate;
    }
    return this.#resampler.process(frame.samples);
  }

  #buffer(n: number): Uint8Array {
    if (this.#codes.length < n) this.#codes = new Uint8Array(Math.max(n, 2 * this.#codes.length));
    return this.#codes.subarray(0, n);
  }
}

/** Samples as little-endian bytes (a view on little-endian hosts, a swapped copy elsewhere). */
export function pcmBytes(pcm: Int16Array): Uint8Array {
  const view = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  if (LITTLE_ENDIAN) return view;
  const out = new Uint8Array(pcm.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) dv.setInt16(i * 2, pcm[i] as number, true);
  return out;
}

/**
 * Little-endian 16-bit bytes as samples. `carry` holds an odd trailing byte between calls (a delta may
 * split a sample); the result is a new array the caller owns.
 */
export function pcmSamples(bytes: Uint8Array, carry: { byte: number | undefined }): Int16Array {
  const lead = carry.byte === undefined ? 0 : 1;
  if (lead === 0 && LITTLE_ENDIAN) {
    const out = new Int16Array(bytes.byteLength >> 1);
    new Uint8Array(out.buffer).set(bytes.subarray(0, out.byteLength));
    carry.byte = bytes.byteLength % 2 === 1 ? (bytes[bytes.byteLength - 1] as number) : undefined;
    return out;
  }
  const total = bytes.byteLength + lead;
  const n = total >> 1;
  const out = new Int16Array(n);
  const at = (i: number): number => (lead === 1 ? (i === 0 ? (carry.byte as number) : (bytes[i - 1] as number)) : (bytes[i] as number));
  for (let i = 0; i < n; i++) {
    const lo = at(2 * i);
    const hi = at(2 * i + 1);
    out[i] = ((hi << 24) >> 16) | lo;
  }
  // The odd byte left is the last of the joined stream: this delta's, or the one carried in (an empty delta).
  carry.byte = total % 2 === 1 ? at(total - 1) : undefined;
  return out;
}
