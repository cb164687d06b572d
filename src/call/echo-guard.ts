/**
 * Tells the agent's own voice coming back (line or acoustic echo) from the caller speaking. It keeps the
 * energy envelope of what was played to the caller (20 ms frames, stamped with when they left) and of what
 * came back; a voice onset is echo when the caller's envelope follows ours at some delay up to
 * `maxDelayMs` (correlation) while being clearly quieter (echo is attenuated; a caller talking over the
 * agent is about as loud as the agent or louder), or when it is far quieter than what we sent then.
 *
 * Allocation-free on the media path: two fixed rings of numbers.
 */
const FRAME_MS = 20;
const RING = 128; // 2.56 s of 20 ms frames each way

export interface EchoGuardSettings {
  /** Longest round trip of our audio back to us. */
  readonly maxDelayMs: number;
  /** Correlated and at least this many dB quieter than what we sent: echo. */
  readonly correlatedBelowDb: number;
  /** At least this many dB quieter than what we sent at the best delay: echo whatever the correlation. */
  readonly quieterThanDb: number;
  /** Envelope correlation that counts as "follows". */
  readonly minCorrelation: number;
}

export const DEFAULT_ECHO_GUARD: EchoGuardSettings = { maxDelayMs: 400, correlatedBelowDb: 4, quieterThanDb: 14, minCorrelation: 0.5 };

/** Energy of a PCM block in dB (0 for silence, about 90 for a full-scale square wave). */
export function energyDb(samples: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i] as number;
    sum += v * v;
  }
  return 10 * Math.log10(sum / Math.max(1, samples.length) + 1);
}

class EnvelopeRing {
  readonly t = new Float64Array(RING);
  readonly db = new Float64Array(RING);
  head = 0;
  count = 0;

  push(tMs: number, db: number): void {
    this.t[this.head] = tMs;
    this.db[this.head] = db;
    this.head = (this.head + 1) % RING;
    if (this.count < RING) this.count++;
  }

  /** Energy of the frame covering `tMs`, or undefined when none does. */
  at(tMs: number): number | undefined {
    for (let k = 1; k <= this.count; k++) {
      const i = (this.head - k + RING) % RING;
      const start = this.t[i] as number;
      if (start <= tMs && tMs < start + FRAME_MS) return this.db[i];
      if (start + FRAME_MS <= tMs) return undefined;
    }
    return undefined;
  }
}

export class EchoGuard {
  readonly #s: EchoGuardSettings;
  readonly #out = new EnvelopeRing();
  readonly #in = new EnvelopeRing();
  #lastOutMs = -Infinity;

  constructor(settings: Partial<EchoGuardSettings> = {}) {
    this.#s = { ...DEFAULT_ECHO_GUARD, ...settings };
  }

  /** A 20 ms (or so) block of our audio, to be heard by the caller from `playAtMs` on. */
  noteOutbound(samples: Int16Array, playAtMs: number): void {
    // Frames queued back to back: keep their play times increasing even if the estimate jitters.
    const t = Math.max(playAtMs, this.#lastOutMs + FRAME_MS);
    this.#lastOutMs = t;
    this.#out.push(t, energyDb(samples));
  }

  /** The caller's audio block that arrived at `atMs` (its end). */
  noteInbound(samples: Int16Array, atMs: number): void {
    this.#in.push(atMs - FRAME_MS, energyDb(samples));
  }

  /** Forget our audio (a barge-in dropped it: what was queued will not come back). */
  forgetOutbound(afterMs: number): void {
    this.#lastOutMs = Math.min(this.#lastOutMs, afterMs);
  }

  /** Whether the caller audio of the last `windowMs` before `nowMs` is our own voice coming back. */
  isEcho(nowMs: number, windowMs = 240): boolean {
    const xs: number[] = [];
    const ts: number[] = [];
    for (let k = 1; k <= this.#in.count; k++) {
      const i = (this.#in.head - k + RING) % RING;
      const t = this.#in.t[i] as number;
      if (t < nowMs - windowMs) break;
      xs.push(this.#in.db[i] as number);
      ts.push(t);
    }
    if (xs.length < 3) return false;
    let echo = false;
    for (let lag = 0; lag <= this.#s.maxDelayMs && !echo; lag += FRAME_MS) {
      const ys: number[] = [];
      let voiced = 0;
      for (const t of ts) {
        const y = this.#out.at(t - lag + FRAME_MS / 2);
        ys.push(y ?? 0);
        if (y !== undefined && y > 30) voiced++;
      }
      if (voiced < Math.ceil(xs.length / 2)) continue;
      const diff = mean(xs) - mean(ys);
      if (diff <= -this.#s.quieterThanDb) echo = true;
      else if (diff <= -this.#s.correlatedBelowDb && correlation(xs, ys) >= this.#s.minCorrelation) echo = true;
    }
    return echo;
  }
}

function mean(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x;
  return s / Math.max(1, v.length);
}

function correlation(a: readonly number[], b: readonly number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}
