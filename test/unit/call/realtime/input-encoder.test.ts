/**
 * Caller frames to a session's bytes, and a model's PCM bytes back to samples: G.711 as the reference
 * encoder makes it, PCM resampled to the model's rate, and model PCM split at every byte offset across
 * deltas giving back exactly the samples.
 */
import { describe, expect, it } from 'vitest';
import { InputEncoder, pcmBytes, pcmSamples } from '../../../../src/call/realtime/input-encoder.ts';
import { alawEncode, mulawEncode } from '../../../../src/media/g711.ts';

const ramp = (n: number): Int16Array => Int16Array.from({ length: n }, (_, i) => Math.round(12000 * Math.sin(i / 7)));

describe('InputEncoder', () => {
  it('encodes 8 kHz frames as mu-law and A-law exactly as G.711 does', () => {
    const samples = ramp(160);
    expect(new InputEncoder({ encoding: 'mulaw', sampleRate: 8000 }).encode({ samples, sampleRate: 8000, timestamp: 0 })).toEqual(mulawEncode(samples));
    expect(new InputEncoder({ encoding: 'alaw', sampleRate: 8000 }).encode({ samples, sampleRate: 8000, timestamp: 0 })).toEqual(alawEncode(samples));
  });

  it('passes PCM at the model rate as little-endian bytes, and resamples other rates (1.5x for 16 -> 24 kHz)', () => {
    const same = new InputEncoder({ encoding: 'pcm_s16le', sampleRate: 16000 });
    const samples = ramp(320);
    expect(pcmSamples(same.encode({ samples, sampleRate: 16000, timestamp: 0 }).slice(), { byte: undefined })).toEqual(samples);
    const up = new InputEncoder({ encoding: 'pcm_s16le', sampleRate: 24000 });
    let bytes = 0;
    for (let i = 0; i < 50; i++) bytes += up.encode({ samples, sampleRate: 16000, timestamp: i * 20 }).byteLength;
    // One second in, 24,000 samples out (less the filter's latency).
    expect(bytes / 2).toBeGreaterThan(23_800);
    expect(bytes / 2).toBeLessThanOrEqual(24_000);
    up.close();
  });
});

describe('pcmSamples', () => {
  it('gives back the samples whatever byte offsets the deltas were split at', () => {
    const samples = ramp(64);
    const bytes = pcmBytes(samples).slice();
    for (let a = 0; a <= bytes.length; a++) {
      for (let b = a; b <= bytes.length; b += 7) {
        const carry = { byte: undefined as number | undefined };
        const parts = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)].map((p) => pcmSamples(p, carry));
        expect(Int16Array.from(parts.flatMap((p) => [...p]))).toEqual(samples);
        expect(carry.byte).toBeUndefined();
      }
    }
  });
});
