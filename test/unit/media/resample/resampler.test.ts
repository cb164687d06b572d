import { describe, expect, it } from 'vitest';
import { CallroomError } from '../../../../src/core/errors.ts';
import {
  createResampler,
  defaultResampleEngine,
  initResampler,
  Resampler,
} from '../../../../src/media/resample/index.ts';
import { speexHeapBytes } from '../../../../src/media/resample/speex-wasm.ts';
import { ENGINES, noise } from './signals.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CallroomError ? err.code : `not a CallroomError: ${String(err)}`;
  }
  return undefined;
}

describe('Resampler API', () => {
  it('loads the Speex WASM engine at import time and uses it by default', async () => {
    await expect(initResampler()).resolves.toBeUndefined();
    expect(defaultResampleEngine()).toBe('speex-wasm');
    const r = createResampler(8000, 16000);
    expect(r.engine).toBe('speex-wasm');
    expect(r.fromRate).toBe(8000);
    expect(r.toRate).toBe(16000);
    expect(r.delay).toBe(128); // Speex q7: 64 input samples at 8 kHz
    r.close();
  });

  it('is a pass-through copy with delay 0 when both rates are equal', () => {
    const r = createResampler(16000, 16000);
    const x = noise(320);
    const y = r.process(x);
    expect(r.engine).toBeUndefined();
    expect(r.delay).toBe(0);
    expect(y).toEqual(x);
    expect(y.buffer).not.toBe(x.buffer);
    expect(r.flush().length).toBe(0);
    r.close();
  });

  it('rejects unusable rates with CR_RESAMPLE_RATE', () => {
    for (const [from, to] of [
      [0, 8000],
      [8000, -16000],
      [8000.5, 16000],
      [Number.NaN, 8000],
      [8000, 400_000],
    ] as const) {
      expect(codeOf(() => new Resampler(from, to)), `${from} -> ${to}`).toBe('CR_RESAMPLE_RATE');
    }
    // A near-unity ratio would need 8000 polyphase phases; Speex interpolates its table and copes.
    expect(codeOf(() => new Resampler(8001, 8000, { engine: 'polyphase' }))).toBe('CR_RESAMPLE_RATE');
    const odd = new Resampler(8001, 8000);
    expect(odd.process(noise(8001)).length).toBe(8000);
    odd.close();
  });

  describe.each(ENGINES)('%s engine', (engine) => {
    it('returns empty output for empty input and keeps the stream intact', () => {
      const a = new Resampler(22050, 24000, { engine });
      const b = new Resampler(22050, 24000, { engine });
      const x = noise(441 * 3);
      expect(a.process(new Int16Array(0)).length).toBe(0);
      const parts = [a.process(x.subarray(0, 441)).slice(), a.process(new Int16Array(0)).slice()];
      parts.push(a.process(x.subarray(441)).slice());
      expect(parts[1]?.length).toBe(0);
      expect(Int16Array.from([...parts[0]!, ...parts[2]!])).toEqual(b.process(x).slice());
      a.close();
      b.close();
    });

    it('returns views of one reused buffer that stay valid until the next call', () => {
      const r = new Resampler(8000, 16000, { engine });
      const first = r.process(noise(160, 1));
      const copy = first.slice();
      expect(first.length).toBe(320);
      const second = r.process(noise(160, 2));
      // Same backing buffer: the first view is overwritten by the second call, as documented.
      expect(second.buffer).toBe(first.buffer);
      expect(first).not.toEqual(copy);
      // A chunk larger than anything seen grows the buffer; results stay correct.
      const big = r.process(noise(48000, 3));
      expect(big.length).toBe(96000);
      r.close();
    });

    it('saturates at 16 bits instead of wrapping (full-scale square wave vs the same at half scale)', () => {
      const square = (amplitude: number) => {
        const x = new Int16Array(4800);
        for (let i = 0; i < x.length; i++) x[i] = Math.floor(i / 24) % 2 === 0 ? amplitude : -amplitude;
        return x;
      };
      const run = (x: Int16Array) => {
        const r = new Resampler(48000, 8000, { engine });
        const y = r.process(x).slice();
        r.close();
        return y;
      };
      const full = run(square(32000));
      const half = run(square(16000));
      // The band-limited square overshoots by ~20 %, so the full-scale output must hit the rails.
      expect(full.some((v) => v === 32767)).toBe(true);
      expect(full.some((v) => v === -32768)).toBe(true);
      for (let i = 0; i < full.length; i++) {
        const ideal = Math.max(-32768, Math.min(32767, 2 * (half[i] ?? 0)));
        expect(Math.abs((full[i] ?? 0) - ideal), `sample ${i}`).toBeLessThanOrEqual(2);
      }
    });

    it('after close returns empty arrays, never throws, and close is idempotent', () => {
      const r = new Resampler(24000, 8000, { engine });
      r.process(noise(480));
      r.close();
      r.close();
      expect(r.process(noise(480)).length).toBe(0);
      expect(r.flush().length).toBe(0);
      expect(() => r.reset()).not.toThrow();
    });
  });

  it('frees WASM memory on close (creating and closing many Speex resamplers does not grow the heap)', () => {
    const churn = (n: number) => {
      for (let i = 0; i < n; i++) {
        const r = new Resampler(8000, 48000, { engine: 'speex-wasm' });
        r.process(noise(160));
        r.close();
      }
    };
    churn(50); // warm the allocator
    const before = speexHeapBytes();
    churn(3000);
    // Each instance holds ~30 KB of WASM memory; 3000 leaked would grow the heap by ~90 MB.
    expect(speexHeapBytes()).toBe(before);
  });
});
