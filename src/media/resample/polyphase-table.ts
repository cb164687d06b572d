/**
 * Windowed-sinc (Kaiser) polyphase filter tables for rational resampling L/M.
 *
 * The prototype low-pass filter runs (conceptually) at `L * fromRate`; it is split into `L` phases of
 * `taps` coefficients so that each output sample costs `taps` multiply-adds. Tables are immutable and
 * cached per (rate pair, quality), so every call on the same pair shares one table.
 */
import { CallroomError } from '../../core/errors.ts';

/** Filter quality: all levels meet the gateway spec (flat to 0.45 x lower rate, >= 60 dB above its Nyquist). */
export type ResamplerQuality = 'fast' | 'standard' | 'high';

/** Design target per quality: stopband attenuation in dB. Passband and stopband edges are the same for all. */
const ATTENUATION_DB: Readonly<Record<ResamplerQuality, number>> = { fast: 66, standard: 80, high: 96 };

/** Passband edge and stopband edge as fractions of the lower of the two rates. */
const PASS_EDGE = 0.45;
const STOP_EDGE = 0.5;

/** Above this many phases the table would be too large for a media process (e.g. 8001 -> 8000 Hz). */
const MAX_PHASES = 1024;
const MAX_RATE = 384_000;

/** A precomputed polyphase filter for one rate pair. */
export interface PolyphaseTable {
  /** Interpolation factor (phases). */
  readonly up: number;
  /** Decimation factor. */
  readonly down: number;
  /** Coefficients per phase (input samples in each dot product). */
  readonly taps: number;
  /**
   * Phase-major coefficients, `up * taps` long; phase p's coefficients are at [p*taps, (p+1)*taps) and are
   * stored oldest-input-first so the inner loop walks input and coefficients forwards together.
   */
  readonly coefs: Float32Array;
  /** For each phase, the phase of the next output sample. */
  readonly nextPhase: Uint16Array;
  /** For each phase, how many input samples the window advances for the next output sample. */
  readonly advance: Uint16Array;
  /** Group delay in output samples (an integer by construction). */
  readonly delay: number;
}

const cache = new Map<string, PolyphaseTable>();

/**
 * Polyphase table for `fromRate -> toRate` at `quality`, designed on first use and cached.
 * Throws CallroomError CR_RESAMPLE_RATE for rates that are not positive integers, above 384 kHz, or whose
 * reduced ratio needs more than 1024 phases.
 */
export function polyphaseTable(fromRate: number, toRate: number, quality: ResamplerQuality): PolyphaseTable {
  const key = `${fromRate}:${toRate}:${quality}`;
  let table = cache.get(key);
  if (table === undefined) {
    table = designTable(fromRate, toRate, ATTENUATION_DB[quality]);
    cache.set(key, table);
  }
  return table;
}

/** Checks a rate pair and returns the reduced ratio [up, down]. */
function reducedRatio(fromRate: number, toRate: number): [number, number] {
  for (const rate of [fromRate, toRate]) {
    if (!Number.isInteger(rate) || rate <= 0 || rate > MAX_RATE) {
      throw new CallroomError('CR_RESAMPLE_RATE', `unsupported sample rate ${rate} (integer 1..${MAX_RATE} Hz)`);
    }
  }
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  if (up > MAX_PHASES || down > 65_535) {
    throw new CallroomError('CR_RESAMPLE_RATE', `ratio ${toRate}/${fromRate} needs ${up} filter phases (max ${MAX_PHASES})`);
  }
  return [up, down];
}

function designTable(fromRate: number, toRate: number, attenuationDb: number): PolyphaseTable {
  const [up, down] = reducedRatio(fromRate, toRate);
  const lower = Math.min(fromRate, toRate);
  const protoRate = up * fromRate;
  // Normalised (cycles per prototype sample) cutoff in the middle of the transition band.
  const cutoff = ((PASS_EDGE + STOP_EDGE) / 2) * (lower / protoRate);
  const transition = 2 * Math.PI * (STOP_EDGE - PASS_EDGE) * (lower / protoRate);
  // Kaiser's empirical formulas (Oppenheim & Schafer 7.62/7.63) for order and beta.
  const order = Math.ceil((attenuationDb - 7.95) / (2.285 * transition));
  const half = Math.ceil(order / 2);
  const beta = 0.1102 * (attenuationDb - 8.7);
  // Centre the kernel on a multiple of `down` so the group delay is a whole number of output samples:
  // callers can then align input and output without interpolation.
  const centre = Math.ceil(half / down) * down;
  const taps = Math.ceil((centre + half + 1) / up);

  const coefs = new Float32Array(up * taps);
  const i0Beta = besselI0(beta);
  const phaseSums = new Float64Array(up);
  const raw = new Float64Array(up * taps);
  for (let k = 0; k < up * taps; k++) {
    const t = k - centre;
    if (Math.abs(t) > half) continue;
    const x = t / half;
    const window = besselI0(beta * Math.sqrt(1 - x * x)) / i0Beta;
    const arg = 2 * cutoff * t;
    const sinc = t === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    const value = sinc * window;
    // Prototype index k = j*up + phase feeds input x[i - j]; store oldest-first (j reversed).
    const phase = k % up;
    const j = (k - phase) / up;
    raw[phase * taps + (taps - 1 - j)] = value;
    phaseSums[phase] = (phaseSums[phase] ?? 0) + value;
  }
  // Each phase is a fractional-delay low-pass; unit DC gain per phase avoids a ripple at the input rate.
  for (let p = 0; p < up; p++) {
    const sum = phaseSums[p] ?? 1;
    for (let j = 0; j < taps; j++) coefs[p * taps + j] = (raw[p * taps + j] ?? 0) / sum;
  }

  const nextPhase = new Uint16Array(up);
  const advance = new Uint16Array(up);
  for (let p = 0; p < up; p++) {
    nextPhase[p] = (p + down) % up;
    advance[p] = Math.floor((p + down) / up);
  }
  return { up, down, taps, coefs, nextPhase, advance, delay: centre / down };
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for beta < 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
