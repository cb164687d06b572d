/**
 * Resampler engines side by side, both driven through the shipped `Resampler` class: our polyphase Kaiser FIR
 * (src/media/resample/polyphase-engine.ts) and the Speex resampler compiled to WASM
 * (@echogarden/speex-resampler-wasm, SIMD build; speex-engine.ts), each at the three quality levels.
 *
 * Quality (all 20 ordered pairs of 8/16/22.05/24/48 kHz, 16-bit tones at amplitude 30000):
 * - passband: worst |gain| deviation in dB for tones from 0.01 to 0.45 x the lower rate;
 * - stopband (downsampling pairs only): worst rejection in dB for tones from 0.501 x the lower rate up to
 *   0.99 x the input Nyquist. The 16-bit rounding floor is about -95 dB, so figures near it are a bound.
 * Speed: real-time channels per core = seconds of audio / seconds of CPU, fed as 20 ms frames, best of
 * several runs (the machine is shared, so the best run is the least disturbed one).
 *
 * Run alone: `npx node bench/resample.bench.ts`.
 */
import { Resampler, type ResampleEngineName, type ResamplerQuality } from '../src/media/resample/resampler.ts';
import { SpeexEngine } from '../src/media/resample/speex-engine.ts';
import { speexWasm } from '../src/media/resample/speex-wasm.ts';
import { printResults, type BenchResult } from './types.ts';

const RATES = [8000, 16000, 22050, 24000, 48000] as const;
const AMPLITUDE = 30000;

/** A shipped configuration, or a raw Speex quality (0..10) to show why the levels map where they do. */
interface Shipped {
  readonly name: string;
  readonly engine: ResampleEngineName;
  readonly quality: ResamplerQuality;
}
type Candidate = Shipped | { readonly name: string; readonly speexQuality: number };

interface Stream {
  process(input: Int16Array): Int16Array;
  close(): void;
}

function create(c: Candidate, fromRate: number, toRate: number): Stream {
  if ('engine' in c) return new Resampler(fromRate, toRate, { engine: c.engine, quality: c.quality });
  const wasm = speexWasm();
  if (wasm === undefined) throw new Error('speex wasm did not load');
  const engine = new SpeexEngine(wasm, fromRate, toRate, c.speexQuality);
  return {
    process(input) {
      const out = new Int16Array(Math.ceil((input.length * toRate) / fromRate) + 2);
      return out.subarray(0, engine.process(input, out));
    },
    close: () => engine.close(),
  };
}

// --- Quality ---

function tone(rate: number, freq: number, seconds: number): Int16Array {
  const x = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) x[i] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * freq * i) / rate));
  return x;
}

/**
 * Output/input RMS in dB of a tone. Skips 50 ms of filter warm-up, then measures over a whole number of
 * periods so the figure has no windowing error.
 */
function gainDb(c: Candidate, fromRate: number, toRate: number, freq: number): number {
  const r = create(c, fromRate, toRate);
  const y = r.process(tone(fromRate, freq, 0.6)).slice();
  r.close();
  const skip = Math.round(0.05 * toRate);
  const available = y.length - 2 * skip;
  const periods = Math.floor((available * freq) / toRate);
  const length = periods > 0 ? Math.round((periods * toRate) / freq) : available;
  let sum = 0;
  for (let i = skip; i < skip + length; i++) sum += (y[i] ?? 0) ** 2;
  const rms = Math.sqrt(sum / length);
  return 20 * Math.log10(Math.max(rms, 1e-9) / (AMPLITUDE / Math.SQRT2));
}

interface QualityFigures {
  ripple: number;
  ripplePair: string;
  rejection: number;
  rejectionPair: string;
}

function measureQuality(c: Candidate): QualityFigures {
  const q: QualityFigures = { ripple: 0, ripplePair: '', rejection: Infinity, rejectionPair: '' };
  for (const from of RATES) {
    for (const to of RATES) {
      if (from === to) continue;
      const lower = Math.min(from, to);
      for (let k = 1; k <= 45; k += 2) {
        const f = (k / 100) * lower;
        const dev = Math.abs(gainDb(c, from, to, f));
        if (dev > q.ripple) Object.assign(q, { ripple: dev, ripplePair: `${from}->${to} @${Math.round(f)} Hz` });
      }
      if (to > from) continue;
      for (const frac of [0.501, 0.51, 0.52, 0.55, 0.6, 0.7, 0.85, 1, 1.5, 2, 2.5]) {
        const f = frac * lower;
        if (f >= 0.99 * (from / 2)) break;
        const att = -gainDb(c, from, to, f);
        if (att < q.rejection) Object.assign(q, { rejection: att, rejectionPair: `${from}->${to} @${Math.round(f)} Hz` });
      }
    }
  }
  return q;
}

// --- Speed ---

/** Speech-like test signal: a few harmonics plus noise (deterministic). */
function testSignal(rate: number, seconds: number): Int16Array {
  const x = new Int16Array(Math.round(rate * seconds));
  let seed = 12345;
  for (let i = 0; i < x.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = (seed / 2 ** 32 - 0.5) * 2000;
    const t = i / rate;
    x[i] = Math.round(8000 * Math.sin(2 * Math.PI * 180 * t) + 4000 * Math.sin(2 * Math.PI * 730 * t) + noise);
  }
  return x;
}

function channelsPerCore(c: Candidate, fromRate: number, toRate: number): number {
  const seconds = 20;
  const signal = testSignal(fromRate, seconds);
  const frame = fromRate / 50;
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const r = create(c, fromRate, toRate);
    const t0 = performance.now();
    for (let i = 0; i + frame <= signal.length; i += frame) r.process(signal.subarray(i, i + frame));
    const elapsed = performance.now() - t0;
    r.close();
    best = Math.min(best, elapsed);
  }
  return seconds / (best / 1000);
}

const CANDIDATES: readonly Shipped[] = (['polyphase', 'speex-wasm'] as const).flatMap((engine) =>
  (['fast', 'standard', 'high'] as const).map((quality) => ({ name: `${engine} ${quality}`, engine, quality })),
);
/** Speex levels left out of the mapping (speex-engine.ts): quality only. */
const RAW_SPEEX: readonly Candidate[] = [4, 5, 9, 10].map((q) => ({ name: `speex raw q${q}`, speexQuality: q }));

/** The two pairs the choice is made on (telephony in to STT, TTS out to telephony), then one 22.05 kHz pair. */
const SPEED_PAIRS = [
  [8000, 16000],
  [24000, 8000],
  [22050, 16000],
] as const;

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const c of [...CANDIDATES, ...RAW_SPEEX]) {
    const q = measureQuality(c);
    results.push({ name: `${c.name}: passband max deviation`, value: q.ripple, unit: 'dB', note: `worst ${q.ripplePair}; spec <= 0.5` });
    results.push({ name: `${c.name}: stopband min rejection`, value: q.rejection, unit: 'dB', note: `worst ${q.rejectionPair}; spec >= 60` });
  }
  for (const c of CANDIDATES) {
    for (const [from, to] of SPEED_PAIRS) {
      const probe = new Resampler(from, to, { engine: c.engine, quality: c.quality });
      const delay = probe.delay;
      probe.close();
      results.push({
        name: `${c.name}: ${from / 1000}k->${to / 1000}k`,
        value: Math.round(channelsPerCore(c, from, to)),
        unit: 'rt channels/core',
        note: `delay ${((delay / to) * 1000).toFixed(1)} ms`,
      });
    }
  }
  return results;
}

if (import.meta.main) {
  printResults('resample', await run());
}
