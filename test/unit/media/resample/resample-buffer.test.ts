import { describe, expect, it } from 'vitest';
import { createResampler, resampleBuffer } from '../../../../src/media/resample/index.ts';

function tone(n: number, rate: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return s;
}

describe('resampleBuffer', () => {
  it('equals streaming the buffer in 20 ms chunks plus the flushed tail', () => {
    const pcm = tone(16000, 16000);
    const r = createResampler(16000, 8000);
    const parts: number[] = [];
    for (let i = 0; i < pcm.length; i += 320) parts.push(...r.process(pcm.subarray(i, i + 320)));
    parts.push(...r.flush());
    r.close();
    const whole = resampleBuffer(pcm, 16000, 8000);
    expect(Array.from(whole)).toEqual(parts);
    // One second in, one second (plus the filter's tail) out.
    expect(whole.length).toBeGreaterThanOrEqual(8000);
    expect(whole.length).toBeLessThan(8100);
  });

  it('copies when the rates are equal', () => {
    const pcm = tone(100, 8000);
    const out = resampleBuffer(pcm, 8000, 8000);
    expect(out).toEqual(pcm);
    expect(out).not.toBe(pcm);
  });
});
