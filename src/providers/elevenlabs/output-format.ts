/**
 * ElevenLabs `output_format` for a requested encoding and rate. Telephony formats come straight
 * from the vendor so a SIP call sends them without transcoding.
 */
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding } from '../types.ts';

export const ELEVENLABS = 'elevenlabs';

/** Rates ElevenLabs streams as raw PCM (pcm_<rate>). */
export const PCM_RATES: readonly number[] = [8000, 16000, 22050, 24000, 32000, 44100, 48000];
export const ELEVENLABS_ENCODINGS: readonly AudioEncoding[] = ['pcm_s16le', 'mulaw', 'alaw'];
export const ELEVENLABS_RATES: readonly number[] = PCM_RATES;

/** 'ulaw_8000', 'alaw_8000' or 'pcm_<rate>'; a non-retryable ProviderError for anything else. */
export function outputFormatFor(encoding: AudioEncoding, sampleRate: number): string {
  if (encoding === 'mulaw' && sampleRate === 8000) return 'ulaw_8000';
  if (encoding === 'alaw' && sampleRate === 8000) return 'alaw_8000';
  if (encoding === 'pcm_s16le' && PCM_RATES.includes(sampleRate)) return `pcm_${sampleRate}`;
  throw new ProviderError(ELEVENLABS, 'CR_PROVIDER_UNSUPPORTED', `no output format for ${encoding} at ${sampleRate} Hz`, {
    retryable: false,
  });
}
