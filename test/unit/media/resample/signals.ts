/** Test signals and measurements shared by the resampler tests. */
import type { Resampler } from '../../../../src/media/resample/resampler.ts';

export const RATES = [8000, 16000, 22050, 24000, 48000] as const;

/** All 20 ordered pairs of distinct rates. */
export const PAIRS: ReadonlyArray<readonly [number, number]> = RATES.flatMap((from) =>
  RATES.filter((to) => to !== from).map((to) => [from, to] as const),
);

export const ENGINES = ['speex-wasm', 'polyphase'] as const;

/** 16-bit sum of sines: `tones` are [frequency Hz, amplitude] pairs, phase 0 at sample 0. */
export function tones(rate: number, seconds: number, components: ReadonlyArray<readonly [number, number]>): Int16Array {
  const x = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) {
    let v = 0;
    for (const [f, a] of components) v += a * Math.sin((2 * Math.PI * f * i) / rate);
    x[i] = Math.round(v);
  }
  return x;
}

/** Deterministic white-ish noise with a slow sine, full-scale-ish, to exercise every filter tap. */
export function noise(length: number, seed = 1): Int16Array {
  const x = new Int16Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = Math.round(((s >>> 16) & 0x7fff) - 16384 + 12000 * Math.sin(i * 0.003));
  }
  return x;
}

export function concat(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Feeds `x` in chunks of `chunk` samples, copying each result (views are only valid until the next call). */
export function processChunked(r: Resampler, x: Int16Array, chunk: number): Int16Array {
  const parts: Int16Array[] = [];
  for (let i = 0; i < x.length; i += chunk) parts.push(r.process(x.subarray(i, i + chunk)).slice());
  return concat(parts);
}

/**
 * RMS of `y[skip...]` over a whole number of periods of `freq`, in dB relative to a sine of `amplitude`.
 * A whole number of periods keeps the figure free of windowing error.
 */
export function toneLevelDb(y: Int16Array, rate: number, freq: number, amplitude: number, skip: number): number {
  const available = y.length - 2 * skip;
  const periods = Math.floor((available * freq) / rate);
  const length = periods > 0 ? Math.round((periods * rate) / freq) : available;
  let sum = 0;
  for (let i = skip; i < skip + length; i++) sum += (y[i] ?? 0) ** 2;
  return 20 * Math.log10(Math.max(Math.sqrt(sum / length), 1e-9) / (amplitude / Math.SQRT2));
}

/**
 * Level in dB (relative to the expected signal) of what is left after subtracting `expected(n)` from `y` over
 * [from, to): how far the output is from an ideal, delay-compensated resampling.
 */
export function residualDb(y: Int16Array, from: number, to: number, expected: (n: number) => number): number {
  let err = 0;
  let ref = 0;
  for (let n = from; n < to; n++) {
    const e = expected(n);
    err += ((y[n] ?? 0) - e) ** 2;
    ref += e * e;
  }
  return 10 * Math.log10(Math.max(err, 1e-12) / ref);
}

/**
 * Fits a sine and cosine of `freq` to `y[skip...]` (least squares over a whole number of periods) and
 * returns the power of what is left relative to the fitted tone, in dB: images, aliases and noise.
 */
export function toneResidualDb(y: Int16Array, rate: number, freq: number, skip: number): number {
  const periods = Math.floor(((y.length - 2 * skip) * freq) / rate);
  const length = Math.round((periods * rate) / freq);
  const w = (2 * Math.PI * freq) / rate;
  let s = 0;
  let c = 0;
  for (let n = skip; n < skip + length; n++) {
    s += (y[n] ?? 0) * Math.sin(w * n);
    c += (y[n] ?? 0) * Math.cos(w * n);
  }
  s = (2 * s) / length;
  c = (2 * c) / length;
  let err = 0;
  for (let n = skip; n < skip + length; n++) err += ((y[n] ?? 0) - s * Math.sin(w * n) - c * Math.cos(w * n)) ** 2;
  return 10 * Math.log10(Math.max(err / length, 1e-12) / ((s * s + c * c) / 2));
}
