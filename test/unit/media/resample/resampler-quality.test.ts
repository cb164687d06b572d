import { describe, expect, it } from 'vitest';
import { Resampler, type ResamplerQuality } from '../../../../src/media/resample/resampler.ts';
import { ENGINES, PAIRS, toneLevelDb, toneResidualDb, tones } from './signals.ts';

const AMPLITUDE = 30000;
const QUALITIES: readonly ResamplerQuality[] = ['fast', 'standard', 'high'];
/** Passband tones as fractions of the lower rate, up to the spec's 0.45. */
const PASSBAND = [0.01, 0.1, 0.2, 0.3, 0.4, 0.45];
/** Stopband tones as fractions of the lower rate: just above its Nyquist, up to the input's Nyquist. */
const STOPBAND = [0.502, 0.52, 0.6, 0.75, 1, 1.4, 2, 2.9];

/** Resamples a 0.4 s tone and returns the output with the warm-up (filter delay + margin) still in it. */
function run(engine: (typeof ENGINES)[number], quality: ResamplerQuality, from: number, to: number, freq: number): Int16Array {
  const r = new Resampler(from, to, { engine, quality });
  try {
    return r.process(tones(from, 0.4, [[freq, AMPLITUDE]])).slice();
  } finally {
    r.close();
  }
}

describe.each(ENGINES)('resampler quality (%s)', (engine) => {
  describe.each(QUALITIES)('quality %s', (quality) => {
    it.each(PAIRS)('%i -> %i: passband within +-0.5 dB up to 0.45 x the lower rate', (from, to) => {
      const lower = Math.min(from, to);
      // Skip 40 ms: longer than any filter's delay, so only the steady state is measured.
      const skip = Math.round(0.04 * to);
      for (const fraction of PASSBAND) {
        const level = toneLevelDb(run(engine, quality, from, to, fraction * lower), to, fraction * lower, AMPLITUDE, skip);
        expect(Math.abs(level), `${fraction} x ${lower} Hz: ${level.toFixed(3)} dB`).toBeLessThanOrEqual(0.5);
      }
    });

    it.each(PAIRS.filter(([from, to]) => to < from))(
      '%i -> %i: tones above the output Nyquist are rejected by >= 60 dB',
      (from, to) => {
        const skip = Math.round(0.04 * to);
        let tested = 0;
        for (const fraction of STOPBAND) {
          const freq = fraction * to;
          if (freq >= 0.98 * (from / 2)) continue;
          tested++;
          const y = run(engine, quality, from, to, freq);
          // Aliases land anywhere in the output band, so measure total output power, not one frequency.
          let sum = 0;
          for (let i = skip; i < y.length - skip; i++) sum += (y[i] ?? 0) ** 2;
          const level = 20 * Math.log10(Math.sqrt(sum / (y.length - 2 * skip)) / (AMPLITUDE / Math.SQRT2));
          expect(level, `${freq.toFixed(0)} Hz: ${level.toFixed(1)} dB`).toBeLessThanOrEqual(-60);
        }
        expect(tested).toBeGreaterThanOrEqual(2);
      },
    );

    it.each(PAIRS.filter(([from, to]) => to > from))(
      '%i -> %i: upsampling adds no images (everything but the tone <= -60 dB)',
      (from, to) => {
        const freq = 0.4 * from;
        // The image of f sits at from - f, inside the new band: only the anti-imaging filter removes it.
        const db = toneResidualDb(run(engine, quality, from, to, freq), to, freq, Math.round(0.04 * to));
        expect(db).toBeLessThanOrEqual(-60);
      },
    );
  });
});
