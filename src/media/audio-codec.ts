import { CallroomError } from '../core/errors.ts';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from './g711.ts';
import { G722Decoder, G722Encoder } from './g722.ts';

export type AudioCodecName = 'PCMU' | 'PCMA' | 'G722';

/**
 * One direction-pair of a telephone codec with its state (G.722 is stateful, G.711 is not), so a call leg
 * encodes and decodes without knowing which codec was negotiated.
 */
export interface AudioCodec {
  readonly name: AudioCodecName;
  /** PCM sample rate the codec works at: 8000 for G.711, 16000 for G.722. */
  readonly sampleRate: number;
  /** PCM samples per payload byte: 1 for G.711, 2 for G.722. */
  readonly samplesPerByte: number;
  encode(pcm: Int16Array, out?: Uint8Array): Uint8Array;
  decode(payload: Uint8Array, out?: Int16Array): Int16Array;
  /** Forget codec state (a new stream, e.g. after a re-INVITE changed codec). */
  reset(): void;
}

export function createAudioCodec(name: AudioCodecName): AudioCodec {
  switch (name) {
    case 'PCMU':
      return { name, sampleRate: 8000, samplesPerByte: 1, encode: mulawEncode, decode: mulawDecode, reset: () => {} };
    case 'PCMA':
      return { name, sampleRate: 8000, samplesPerByte: 1, encode: alawEncode, decode: alawDecode, reset: () => {} };
    case 'G722': {
      let enc = new G722Encoder();
      let dec = new G722Decoder();
      return {
        name,
        sampleRate: 16000,
        samplesPerByte: 2,
        encode: (pcm, out) => enc.encode(pcm, out),
        decode: (payload, out) => dec.decode(payload, out),
        reset: () => {
          enc = new G722Encoder();
          dec = new G722Decoder();
        },
      };
    }
    default:
      throw new CallroomError('CR_CODEC_UNKNOWN', `unknown codec ${String(name)}`);
  }
}
