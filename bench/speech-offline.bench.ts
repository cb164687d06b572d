/**
 * Offline speech figures: pocketsphinx (word error rate on the wideband fixtures, after a G.722 round
 * trip and after an 8 kHz G.711 round trip; real-time factor per stream alone and with concurrent
 * streams; concurrent streams per core; time to first partial and to the final), flite (real-time
 * factor per voice, time to first audio warm and cold, streams per core) and chunker + flite (time
 * from a model's first token to the first audio frame, against waiting for the whole text).
 * CPU figures are process.cpuUsage, which includes koffi's and the flite workers' threads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SPEECH_FIXTURES } from '../scripts/make-speech-fixtures.ts';
import { mulawDecode, mulawEncode } from '../src/media/g711.ts';
import { G722Decoder, G722Encoder } from '../src/media/g722.ts';
import { silentLogger } from '../src/core/logger.ts';
import { resampleBuffer } from '../src/media/resample/index.ts';
import { readWav } from '../src/media/wav.ts';
import { FliteEngine } from '../src/providers/flite/flite-engine.ts';
import { FliteTts } from '../src/providers/flite/flite-tts.ts';
import { PocketsphinxPool } from '../src/providers/pocketsphinx/decoder-pool.ts';
import { PocketsphinxStt } from '../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import type { SttEvent } from '../src/providers/types.ts';
import { wordErrorRate } from '../src/providers/word-error-rate.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'speech');
const fixture = (file: string): Int16Array => readWav(readFileSync(join(FIXTURES, file))).samples;
const cpuMs = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1000;


interface Recognition {
  text: string;
  /** Wall ms from the first write to 'closed'. */
  wallMs: number;
}

/** Recognise 16 kHz audio fed as fast as possible (plus 300 ms of silence). */
async function recognise(stt: PocketsphinxStt, pcm: Int16Array): Promise<Recognition> {
  const session = await stt.open({ sampleRate: 16000 });
  const finals: string[] = [];
  const t0 = performance.now();
  const done = (async () => {
    for await (const e of session.events()) if (e.type === 'transcript' && e.isFinal && e.text !== '') finals.push(e.text);
  })();
  const all = new Int16Array(pcm.length + 4800);
  all.set(pcm);
  for (let i = 0; i < all.length; i += 320) session.write({ samples: all.subarray(i, i + 320), sampleRate: 16000, timestamp: i / 16 });
  await session.close();
  await done;
  return { text: finals.join(' '), wallMs: performance.now() - t0 };
}

async function pocketsphinxFigures(results: BenchResult[]): Promise<void> {
  const pool = new PocketsphinxPool({ maxDecoders: 4 });
  const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
  try {
    const conditions: Array<[string, (x: Int16Array) => Int16Array]> = [
      ['wideband 16 kHz', (x) => x],
      ['after G.722 round trip', (x) => new G722Decoder().decode(new G722Encoder().encode(x))],
      ['after 8 kHz G.711 mu-law round trip', (x) => resampleBuffer(mulawDecode(mulawEncode(resampleBuffer(x, 16000, 8000))), 8000, 16000)],
    ];
    for (const [name, transform] of conditions) {
      let sum = 0;
      let order = '';
      for (const f of SPEECH_FIXTURES) {
        const { text } = await recognise(stt, transform(fixture(f.file)));
        sum += wordErrorRate(f.words, text);
        if (f.file === 'order-status-kal16.wav') order = text;
      }
      results.push({ name: `pocketsphinx WER ${name}`, value: sum / SPEECH_FIXTURES.length, unit: 'mean WER', note: `order sentence -> "${order}"` });
    }

    // Cost of isolating sessions: the decoder rebuild after each session (off the event loop).
    const r0 = process.cpuUsage();
    const rt0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const s = await stt.open({ sampleRate: 16000 });
      await s.close();
      await pool.settled();
    }
    results.push({ name: 'pocketsphinx decoder reset between sessions', value: (performance.now() - rt0) / 3, unit: 'ms wall', note: `${(cpuMs(process.cpuUsage(r0)) / 3).toFixed(0)} ms CPU` });
  } finally {
    await pool.close();
  }

  // Real-time factor: N streams at once, each fed as fast as it is consumed. Decoders are made first
  // and not reset between sessions here, so the figures are recognition alone.
  const rawPool = new PocketsphinxPool({ maxDecoders: 4, resetBetweenSessions: false });
  const raw = new PocketsphinxStt({ logger: silentLogger(), pool: rawPool });
  try {
    const audio = fixture('order-status-kal16.wav');
    const audioMs = ((audio.length + 4800) * 1000) / 16000;
    await Promise.all(Array.from({ length: 4 }, () => recognise(raw, new Int16Array(3200))));
    for (const n of [1, 2, 4]) {
      const lag = monitorEventLoopDelay({ resolution: 5 });
      lag.enable();
      const c0 = process.cpuUsage();
      const runs = await Promise.all(Array.from({ length: n }, () => recognise(raw, audio)));
      const cpu = cpuMs(process.cpuUsage(c0));
      lag.disable();
      results.push({ name: `pocketsphinx event-loop delay p99, ${n} streams`, value: lag.percentile(99) / 1e6, unit: 'ms', note: 'decoding runs on koffi threads' });
      const wall = Math.max(...runs.map((r) => r.wallMs));
      results.push({ name: `pocketsphinx RTF per stream, ${n} concurrent`, value: wall / audioMs, unit: 'wall/audio' });
      if (n === 1) results.push({ name: 'pocketsphinx CPU per audio second', value: cpu / audioMs, unit: 'CPU s/audio s' });
      if (n === 4) results.push({ name: 'pocketsphinx streams per core (real time)', value: (n * audioMs) / cpu, unit: 'streams', note: 'audio seconds per CPU second' });
    }

    // Latency, fed in real time: first partial after speech onset, final after the last frame.
    const lead = new Int16Array(8000);
    const paced = new Int16Array(lead.length + audio.length + 4800);
    paced.set(audio, lead.length);
    const onsetMs = 500 + 226;
    const session = await raw.open({ sampleRate: 16000 });
    const t0 = performance.now();
    let firstPartial = NaN;
    let final = NaN;
    const done = (async () => {
      for await (const e of session.events() as AsyncIterable<SttEvent>) {
        const t = performance.now() - t0;
        if (e.type === 'transcript' && !e.isFinal && Number.isNaN(firstPartial)) firstPartial = t;
        if (e.type === 'transcript' && e.isFinal && e.text !== '' && Number.isNaN(final)) final = t;
      }
    })();
    for (let i = 0, f = 0; i < paced.length; i += 320, f++) {
      const due = t0 + f * 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      session.write({ samples: paced.subarray(i, i + 320), sampleRate: 16000, timestamp: f * 20 });
    }
    const lastFrameAt = performance.now() - t0;
    await session.close();
    await done;
    results.push({ name: 'pocketsphinx first partial after speech onset', value: firstPartial - onsetMs, unit: 'ms', note: 'fed in real time, 100 ms decoder chunks' });
    results.push({ name: 'pocketsphinx final after last frame', value: final - lastFrameAt, unit: 'ms', note: 'endpoint by its VAD; negative = before the trailing silence ended' });
  } finally {
    await rawPool.close();
  }
}

async function* tokens(text: string, everyMs: number): AsyncIterable<string> {
  // Model-like tokens: a word or a piece of one, with its leading space.
  for (const t of text.match(/\s*\S{1,4}/g) ?? []) {
    await new Promise((r) => setTimeout(r, everyMs));
    yield t;
  }
}

async function firstAudioMs(tts: FliteTts, text: AsyncIterable<string>): Promise<{ first: number; total: number; samples: number }> {
  const t0 = performance.now();
  let first = NaN;
  let samples = 0;
  for await (const c of tts.synthesize({ text, sampleRate: 16000, encoding: 'pcm_s16le' })) {
    if (c.type !== 'audio') continue;
    if (Number.isNaN(first)) first = performance.now() - t0;
    samples += c.pcm?.length ?? 0;
  }
  return { first, total: performance.now() - t0, samples };
}

async function fliteFigures(results: BenchResult[]): Promise<void> {
  const sentence = 'I would like to check the status of my order number four five six seven.';
  async function* whole(t: string): AsyncIterable<string> {
    yield t;
  }
  // Cold: a new engine (worker start, wasm compile, first instance).
  const cold = new FliteTts({ workers: 1 });
  const c = await firstAudioMs(cold, whole('Hello.'));
  results.push({ name: 'flite first audio, cold engine', value: c.first, unit: 'ms', note: 'worker start + wasm compile + instance' });
  await cold.close();

  const engine = new FliteEngine({ workers: 2, warmVoice: 'kal16' });
  try {
    for (const voice of ['kal16', 'kal', 'slt', 'rms', 'awb']) {
      const tts = new FliteTts({ engine, voice });
      await firstAudioMs(tts, whole(sentence));
      const firsts: number[] = [];
      let rtf = 0;
      for (let i = 0; i < 5; i++) {
        const r = await firstAudioMs(tts, whole(sentence));
        firsts.push(r.first);
        rtf += r.total / ((r.samples * 1000) / 16000) / 5;
      }
      results.push({ name: `flite ${voice} RTF`, value: rtf, unit: 'wall/audio' });
      results.push({ name: `flite ${voice} first audio, warm, one sentence`, value: percentile(firsts, 50), unit: 'ms (median)' });
    }
    const tts = new FliteTts({ engine });
    const c0 = process.cpuUsage();
    const runs = await Promise.all(Array.from({ length: 4 }, () => firstAudioMs(tts, whole(sentence))));
    const cpu = cpuMs(process.cpuUsage(c0));
    const audioMs = runs.reduce((n, r) => n + (r.samples * 1000) / 16000, 0);
    results.push({ name: 'flite kal16 streams per core (real time)', value: audioMs / cpu, unit: 'streams', note: 'audio seconds per CPU second' });

    // Chunker + flite: a model streaming ~50 tokens/s.
    const answer = 'Sure, I can help you with that. Your order number four five six seven shipped yesterday, and it should arrive on Friday. Is there anything else?';
    const firstTokenToAudio: number[] = [];
    const wholeTextToAudio: number[] = [];
    for (let i = 0; i < 3; i++) {
      const streamed = await firstAudioMs(tts, tokens(answer, 20));
      // tokens() waits before its first token, so subtract that gap.
      firstTokenToAudio.push(streamed.first - 20);
      const t0 = performance.now();
      const all: string[] = [];
      for await (const t of tokens(answer, 20)) all.push(t);
      const waited = await firstAudioMs(tts, whole(all.join('')));
      wholeTextToAudio.push(performance.now() - t0 - waited.total + waited.first - 20);
    }
    results.push({ name: 'chunker+flite first LLM token -> first audio', value: percentile(firstTokenToAudio, 50), unit: 'ms (median)', note: '50 tokens/s model' });
    results.push({ name: 'whole text then flite, first token -> first audio', value: percentile(wholeTextToAudio, 50), unit: 'ms (median)', note: 'for comparison, no chunking' });
  } finally {
    await engine.close();
  }
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  await pocketsphinxFigures(results);
  await fliteFigures(results);
  return results;
}

if (import.meta.main) printResults('speech-offline', await run());
