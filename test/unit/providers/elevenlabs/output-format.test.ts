import { describe, expect, it } from 'vitest';
import { outputFormatFor } from '../../../../src/providers/elevenlabs/output-format.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';

describe('outputFormatFor', () => {
  it('maps telephony and PCM formats', () => {
    expect(outputFormatFor('mulaw', 8000)).toBe('ulaw_8000');
    expect(outputFormatFor('alaw', 8000)).toBe('alaw_8000');
    expect(outputFormatFor('pcm_s16le', 16000)).toBe('pcm_16000');
    expect(outputFormatFor('pcm_s16le', 24000)).toBe('pcm_24000');
  });

  it('rejects what the vendor cannot produce with a non-retryable ProviderError', () => {
    for (const [enc, rate] of [['mulaw', 16000], ['pcm_s16le', 11025]] as const) {
      let err: unknown;
      try {
        outputFormatFor(enc, rate);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).retryable).toBe(false);
    }
  });
});
