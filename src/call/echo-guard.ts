/**
 * Tells the agent's own voice coming back (line or acoustic echo) from the caller speaking. It keeps the
 * energy envelope of what was played to the caller (20 ms frames, stamped with when they left) and of what
 * came back; a voice onset is echo when the caller's voiced audio sits a steady number of dB below ours at
 * some delay up to `maxDelayMs` (echo is an attenuated copy; a caller talking over the agent has an envelope
 * of their own and is about as loud or louder), or far below it.
 *
 * Allocation-free on the media path: two fixed rings of numbers.
 */
const FRAME_MS = 20;
const RING = 128; // 2.56 s of 20 ms frames each way

export interface EchoGuardSettings {
  /** Longest round trip of our audio back to us. */
  readonly maxDelayMs: number;
  /** Voiced caller audio this much quieter than ours (at some delay) or more may be echo... */
  readonly attenuationDb: number;
  /** ...when its level follows ours that closely: the spread (standard deviation) of the dB differences. */
  readonly maxSpreadDb: number;
  /** This much quieter than what we sent then: echo whatever the spread. */
  readonly quieterThanDb: number;
  /** How much of the caller's latest audio is compared. */
  readonly windowMs: number;
}

export const DEFAULT_ECHO_GUARD: EchoGuardSettings = { maxDelayMs: 600, attenuationDb: 6, maxSpreadDb: 6, quieterThanDb: 24, windowMs: 160 };

/** Frame energy (dB) below which audio counts as silence for the comparison. */
const VOICED_DB = 35;

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

  /** The loudest frame starting within `radiusMs` of `tMs` (the echo's delay is known to a frame or so). */
  maxAround(tMs: number, radiusMs: number): number | undefined {
    let best: number | undefined;
    for (let k = 1; k <= this.count; k++) {
      const i = (this.head - k + RING) % RING;
      const start = this.t[i] as number;
      if (start + FRAME_MS < tMs - radiusMs) break;
      if (start <= tMs + radiusMs) best = Math.max(best ?? -Infinity, this.db[i] as number);
    }
    return best;
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
  /** Delay and attenuation of the echo last recognised. */
  #echo: { lagMs: number; attenuationDb: number } | undefined;

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

  /**
   * Whether the caller's voiced audio of the last `windowMs` is our own voice coming back: at some delay up to
   * `maxDelayMs`, it is a steady number of dB below what we sent (a scaled copy keeps the envelope; someone
   * talking over us does not), or far below it.
   */
  isEcho(nowMs: number): boolean {
    const xs: number[] = [];
    const ts: number[] = [];
    for (let k = 1; k <= this.#in.count; k++) {
      const i = (this.#in.head - k + RING) % RING;
      const t = this.#in.t[i] as number;
      if (t < nowMs - this.#s.windowMs - FRAME_MS) break;
      const x = this.#in.db[i] as number;
      if (x < VOICED_DB) continue;
      xs.push(x);
      ts.push(t);
    }
    if (xs.length < 3) return false;
    // The delay at which the caller's audio follows ours most steadily decides; far quieter at some delay
    // counts too (then with the steadiest such delay as the echo's).
    let best: { lag: number; d: number; spread: number } | undefined;
    let quiet: { lag: number; d: number; spread: number } | undefined;
    for (let lag = 0; lag <= this.#s.maxDelayMs; lag += FRAME_MS / 2) {
      const diffs: number[] = [];
      for (let k = 0; k < ts.length; k++) {
        // Against the loudest of our frames within a frame or so of that delay: arrival times jitter (jitter
        // buffers, a busy event loop), and an echo is never louder than what we sent around then.
        const y = this.#out.maxAround((ts[k] as number) - lag + FRAME_MS / 2, 30);
        if (y !== undefined && y >= VOICED_DB) diffs.push((xs[k] as number) - y);
      }
      if (diffs.length < Math.ceil(xs.length * 0.75)) continue;
      const d = mean(diffs);
      const sp = spread(diffs, d);
      if (d <= -this.#s.attenuationDb && sp <= this.#s.maxSpreadDb && (best === undefined || sp < best.spread)) best = { lag, d, spread: sp };
      if (d <= -this.#s.quieterThanDb && (quiet === undefined || sp < quiet.spread)) quiet = { lag, d, spread: sp };
    }
    const echo = best ?? quiet;
    if (echo === undefined) return false;
    // The echo path's attenuation, smoothed over what was recognised (its delay may be misjudged; its level not).
    const prev = this.#echo?.attenuationDb;
    this.#echo = { lagMs: echo.lag, attenuationDb: prev === undefined ? echo.d : 0.7 * prev + 0.3 * echo.d };
    return true;
  }

  /**
   * While an echo is heard: whether the caller's latest voiced audio (100 ms) stands `marginDb` or more above
   * the loudest the echo could be — our loudest audio over every delay it may have, at the echo's attenuation.
   * A pure echo never does, whatever its exact delay; someone talking at a normal level over it does.
   */
  louderThanEcho(nowMs: number, marginDb = 4): boolean {
    const attenuation = Math.min(-this.#s.attenuationDb, this.#echo?.attenuationDb ?? -10);
    const xs: number[] = [];
    for (let k = 1; k <= this.#in.count; k++) {
      const i = (this.#in.head - k + RING) % RING;
      const t = this.#in.t[i] as number;
      if (t < nowMs - 100 - FRAME_MS) break;
      const x = this.#in.db[i] as number;
      if (x >= VOICED_DB) xs.push(x);
    }
    if (xs.length < 3) return false;
    const loudest = this.#out.maxAround(nowMs - 100 - this.#s.maxDelayMs / 2, this.#s.maxDelayMs / 2 + 100);
    if (loudest === undefined) return true;
    return mean(xs) >= loudest + attenuation + marginDb;
  }
}

function spread(v: readonly number[], m: number): number {
  let s = 0;
  for (const x of v) s += (x - m) * (x - m);
  return Math.sqrt(s / Math.max(1, v.length));
}

function mean(v: readonly number[]): number {
  let s = 0;
  for (const x of v) s += x;
  return s / Math.max(1, v.length);
}
