/**
 * Deterministic test audio generated at test time (no binary fixtures to keep in the repository).
 *
 * `speechLikeSignal` is built to make alignment unambiguous: syllable-sized bursts of different length,
 * pitch glides and band-limited noise, separated by short pauses, so no two stretches look alike and
 * a cross-correlation has one clear peak. A pure tone or a periodic sweep would match itself at many lags.
 */
import { writeFile } from 'node:fs/promises';
import { writeWav } from '../../../src/media/wav.ts';

/** Options for {@link speechLikeSignal}. */
export interface SpeechLikeOptions {
  readonly sampleRate: number;
  readonly seconds: number;
  /** Seed of the generator; the same seed always gives the same samples. Default 1. */
  readonly seed?: number;
  /** Peak level as a fraction of full scale. Default 0.5. */
  readonly level?: number;
}

/** mulberry32: small, fast, good enough to make varied test audio (or test faults) reproducible. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mono 16-bit audio that looks like speech to a correlator: bursts of glides and noise with pauses. */
export function speechLikeSignal(opts: SpeechLikeOptions): Int16Array {
  const { sampleRate, seconds } = opts;
  const rnd = prng(opts.seed ?? 1);
  const level = (opts.level ?? 0.5) * 32767;
  const total = Math.round(sampleRate * seconds);
  const out = new Int16Array(total);
  const topHz = Math.min(3400, sampleRate * 0.42);
  let at = Math.round(sampleRate * 0.05);
  let lp = 0;
  while (at < total) {
    const len = Math.round(sampleRate * (0.08 + rnd() * 0.25));
    const gap = Math.round(sampleRate * (0.02 + rnd() * 0.12));
    const f0 = 120 + rnd() * 200;
    const f1 = 120 + rnd() * 200;
    const formant = 500 + rnd() * (topHz - 700);
    const noiseMix = rnd() * 0.6;
    let phase = 0;
    let phase2 = 0;
    for (let k = 0; k < len && at + k < total; k++) {
      const x = k / len;
      const env = Math.sin(Math.PI * x) ** 0.7;
      const f = f0 + (f1 - f0) * x;
      phase += (2 * Math.PI * f) / sampleRate;
      phase2 += (2 * Math.PI * formant * (1 + 0.2 * x)) / sampleRate;
      // A voiced part (fundamental plus a formant-like partial) and a noisy part, low-passed a little.
      lp = 0.6 * lp + 0.4 * (rnd() * 2 - 1);
      const voiced = 0.6 * Math.sin(phase) + 0.4 * Math.sin(phase2) * Math.sin(phase);
      const v = env * ((1 - noiseMix) * voiced + noiseMix * lp);
      out[at + k] = Math.max(-32768, Math.min(32767, Math.round(v * level)));
    }
    at += len + gap;
  }
  return out;
}

/** Write mono samples as a 16-bit WAV file. */
export async function writeMonoWav(file: string, samples: Int16Array, sampleRate: number): Promise<void> {
  await writeFile(file, writeWav(samples, sampleRate, 1));
}

/** Write `seconds` of digital silence (a callee that only records still needs a source that lasts). */
export async function writeSilenceWav(file: string, seconds: number, sampleRate: number): Promise<void> {
  await writeMonoWav(file, new Int16Array(Math.round(seconds * sampleRate)), sampleRate);
}
