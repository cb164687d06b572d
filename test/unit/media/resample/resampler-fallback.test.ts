import { describe, expect, it, vi } from 'vitest';

// Both builds of the WASM package fail to instantiate, as they would where WebAssembly is unavailable.
vi.mock('@echogarden/speex-resampler-wasm/simd', () => ({ default: () => Promise.reject(new Error('no simd')) }));
vi.mock('@echogarden/speex-resampler-wasm', () => ({ default: () => Promise.reject(new Error('no wasm')) }));

describe('resampler without WebAssembly', () => {
  it('falls back to the polyphase engine and still resamples', async () => {
    const { createResampler, defaultResampleEngine, initResampler } = await import(
      '../../../../src/media/resample/index.ts'
    );
    const { speexLoadFailure } = await import('../../../../src/media/resample/speex-wasm.ts');
    await expect(initResampler()).resolves.toBeUndefined();
    expect(defaultResampleEngine()).toBe('polyphase');
    expect(String(speexLoadFailure())).toContain('no wasm');
    const r = createResampler(8000, 16000);
    expect(r.engine).toBe('polyphase');
    expect(r.process(new Int16Array(160)).length).toBe(320);
    r.close();
  });

  it('refuses an explicit speex-wasm request with CR_RESAMPLE_ENGINE', async () => {
    const { Resampler } = await import('../../../../src/media/resample/index.ts');
    expect(() => new Resampler(8000, 16000, { engine: 'speex-wasm' })).toThrow(
      expect.objectContaining({ code: 'CR_RESAMPLE_ENGINE' }),
    );
  });
});
