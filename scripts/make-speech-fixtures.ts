/**
 * Writes the speech fixtures under fixtures/speech/:
 * - one WAV per sentence in SPEECH_FIXTURES, spoken by our flite adapter (16 kHz, 16-bit mono, as flite
 *   makes it: ~0.2 s of leading silence, ~0.1 s trailing);
 * - silence.wav (digital silence), white-noise.wav and pink-noise.wav (deterministic PRNG, -20 dBFS RMS);
 * - manifest.json describing them (text, voice, duration, and where the speech is by sample amplitude).
 *
 * Run: `npx node scripts/make-speech-fixtures.ts` (about a second). Output is deterministic, so the
 * committed files only change when flite or the sentence list does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWav } from '../src/media/wav.ts';
import { FliteTts } from '../src/providers/flite/flite-tts.ts';

export interface SpeechFixture {
  readonly file: string;
  readonly voice: string;
  /** What is spoken, as written. */
  readonly text: string;
  /** What a recogniser should return: lower-case words, numbers spelled out. */
  readonly words: string;
}

/** The sentences, their voices, and the transcripts a recogniser should return. */
export const SPEECH_FIXTURES: readonly SpeechFixture[] = [
  {
    file: 'order-status-kal16.wav',
    voice: 'kal16',
    text: 'I would like to check the status of my order number four five six seven.',
    words: 'i would like to check the status of my order number four five six seven',
  },
  {
    file: 'order-status-awb.wav',
    voice: 'awb',
    text: 'I would like to check the status of my order number four five six seven.',
    words: 'i would like to check the status of my order number four five six seven',
  },
  {
    file: 'package-arrive-slt.wav',
    voice: 'slt',
    text: 'Can you tell me when my package will arrive?',
    words: 'can you tell me when my package will arrive',
  },
  {
    file: 'billing-transfer-rms.wav',
    voice: 'rms',
    text: 'Please transfer me to the billing department.',
    words: 'please transfer me to the billing department',
  },
  {
    file: 'account-number-kal16.wav',
    voice: 'kal16',
    text: 'My account number is one two three four five.',
    words: 'my account number is one two three four five',
  },
  {
    file: 'cancel-subscription-slt.wav',
    voice: 'slt',
    text: 'I want to cancel my subscription.',
    words: 'i want to cancel my subscription',
  },
];

export const FIXTURE_RATE = 16000;
export const NOISE_FIXTURES = ['silence.wav', 'white-noise.wav', 'pink-noise.wav'] as const;

/** Deterministic PRNG (mulberry32) in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Scale float noise to int16 at `dbfs` RMS. */
function toInt16AtLevel(x: Float64Array, dbfs: number): Int16Array {
  let sum = 0;
  for (const v of x) sum += v * v;
  const rms = Math.sqrt(sum / x.length);
  const gain = (32768 * 10 ** (dbfs / 20)) / rms;
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * gain))));
}

/** White noise, uniform spectrum, at `dbfs` RMS. */
export function whiteNoise(samples: number, dbfs: number, seed = 1): Int16Array {
  const r = prng(seed);
  return toInt16AtLevel(Float64Array.from({ length: samples }, () => r() * 2 - 1), dbfs);
}

/** Pink (1/f) noise by Paul Kellet's filter of white noise, at `dbfs` RMS. */
export function pinkNoise(samples: number, dbfs: number, seed = 2): Int16Array {
  const r = prng(seed);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  const x = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const w = r() * 2 - 1;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  return toInt16AtLevel(x, dbfs);
}

/** First and last sample index whose magnitude exceeds `level` (-1 when none). */
export function speechExtent(pcm: Int16Array, level = 100): { first: number; last: number } {
  let first = -1;
  let last = -1;
  for (let i = 0; i < pcm.length; i++) {
    if (Math.abs(pcm[i] as number) > level) {
      if (first < 0) first = i;
      last = i;
    }
  }
  return { first, last };
}

/** Speak `text` with our flite adapter at 16 kHz and return the samples. */
export async function speak(tts: FliteTts, text: string, voice: string): Promise<Int16Array> {
  async function* once(): AsyncIterable<string> {
    yield text;
  }
  const parts: Int16Array[] = [];
  for await (const c of tts.synthesize({ text: once(), sampleRate: FIXTURE_RATE, encoding: 'pcm_s16le', voice })) {
    if (c.type === 'audio' && c.pcm !== undefined) parts.push(c.pcm);
  }
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The fixtures directory of this checkout. */
export function speechFixtureDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'speech');
}

async function main(): Promise<void> {
  const dir = speechFixtureDir();
  mkdirSync(dir, { recursive: true });
  // One utterance per synthesize call, no chunking: each fixture is one prosodic unit.
  const tts = new FliteTts({ workers: 1, chunker: { minFirstChunkChars: 10_000, maxChunkChars: 10_000 } });
  const manifest: Array<Record<string, unknown>> = [];
  try {
    for (const f of SPEECH_FIXTURES) {
      const pcm = await speak(tts, f.text, f.voice);
      writeFileSync(join(dir, f.file), writeWav(pcm, FIXTURE_RATE));
      const { first, last } = speechExtent(pcm);
      manifest.push({
        ...f,
        sampleRate: FIXTURE_RATE,
        durationMs: Math.round((pcm.length * 1000) / FIXTURE_RATE),
        speechOnsetMs: Math.round((first * 1000) / FIXTURE_RATE),
        speechEndMs: Math.round((last * 1000) / FIXTURE_RATE),
      });
    }
  } finally {
    await tts.close();
  }
  const seconds = 3 * FIXTURE_RATE;
  writeFileSync(join(dir, 'silence.wav'), writeWav(new Int16Array(seconds), FIXTURE_RATE));
  writeFileSync(join(dir, 'white-noise.wav'), writeWav(whiteNoise(seconds, -20), FIXTURE_RATE));
  writeFileSync(join(dir, 'pink-noise.wav'), writeWav(pinkNoise(seconds, -20), FIXTURE_RATE));
  for (const file of NOISE_FIXTURES) manifest.push({ file, kind: 'no-speech', sampleRate: FIXTURE_RATE, durationMs: 3000 });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`wrote ${manifest.length} fixtures to ${dir}`);
}

if (import.meta.main) await main();
