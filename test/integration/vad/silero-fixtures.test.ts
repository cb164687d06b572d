/**
 * Silero on the real-audio fixtures: it marks the flite sentences (speech_start near the real onset,
 * speech_end after the real end) and stays quiet on silence, white and pink noise; at 16 and 8 kHz,
 * for both packaged model versions. "Real" onset/end come from the fixture manifest (first and last
 * sample above 100, i.e. -50 dBFS, in a clean synthetic file).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resampleBuffer } from '../../../src/media/resample/index.ts';
import { readWav } from '../../../src/media/wav.ts';
import { SileroVad } from '../../../src/vad/silero-vad.ts';
import type { VadEvent } from '../../../src/vad/vad.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'speech');

interface Entry {
  file: string;
  words?: string;
  speechOnsetMs?: number;
  speechEndMs?: number;
}

const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as Entry[];
const speechFiles = manifest.filter((m) => m.words !== undefined);
const noiseFiles = manifest.filter((m) => m.words === undefined);

function load(file: string, rate: number): Int16Array {
  const pcm = readWav(readFileSync(join(FIXTURES, file))).samples;
  if (rate === 16000) return pcm;
  return resampleBuffer(pcm, 16000, rate);
}

const LEAD_MS = 500;

/** Media time of a speech event (NaN for an error event, which fails any range check). */
const at = (e: VadEvent | undefined): number => (e !== undefined && 'timestamp' in e ? e.timestamp : Number.NaN);
const OPTIONS = { threshold: 0.5, minSpeechMs: 250, minSilenceMs: 300, speechPadMs: 30 };

/** Run `pcm` (after LEAD_MS of silence, followed by 1 s of silence) through a stream, paced by seconds. */
async function analyse(vad: SileroVad, pcm: Int16Array, rate: number): Promise<{ events: VadEvent[]; maxP: number }> {
  const all = new Int16Array((rate * LEAD_MS) / 1000 + pcm.length + rate);
  all.set(pcm, (rate * LEAD_MS) / 1000);
  const events: VadEvent[] = [];
  let maxP = 0;
  const s = vad.createStream({ sampleRate: rate, ...OPTIONS, onEvent: (e) => events.push(e), onProbability: (p) => (maxP = Math.max(maxP, p)) });
  const n = rate / 50;
  for (let i = 0; i + n <= all.length; i += n) {
    s.push({ samples: all.subarray(i, i + n), sampleRate: rate, timestamp: (i * 1000) / rate });
    if (i % rate === 0) await s.drained();
  }
  await s.end();
  return { events, maxP };
}

for (const version of ['v5', 'v6'] as const) {
  describe(`silero ${version} on the speech fixtures`, () => {
    let vad: SileroVad | undefined;
    const get = async (): Promise<SileroVad> => (vad ??= await SileroVad.load({ version }));
    afterAll(async () => {
      await vad?.close();
    });

    for (const rate of [16000, 8000]) {
      it(`marks each sentence once, from near its onset to after its end (${rate / 1000} kHz)`, async () => {
        for (const f of speechFiles) {
          const { events } = await analyse(await get(), load(f.file, rate), rate);
          expect(events.map((e) => e.type), f.file).toEqual(['speech_start', 'speech_end']);
          const onset = LEAD_MS + (f.speechOnsetMs as number);
          const end = LEAD_MS + (f.speechEndMs as number);
          const start = at(events[0]);
          const stop = at(events[1]);
          // Padded by 30 ms, windows of 32 ms: within a window or two before the onset, at most 100 ms after.
          expect(start, `${f.file} start vs onset ${onset}`).toBeGreaterThanOrEqual(onset - OPTIONS.speechPadMs - 64);
          expect(start, `${f.file} start vs onset ${onset}`).toBeLessThanOrEqual(onset + 100);
          expect(stop, `${f.file} end vs ${end}`).toBeGreaterThanOrEqual(end);
          expect(stop, `${f.file} end vs ${end}`).toBeLessThanOrEqual(end + 250);
        }
      });

      it(`stays quiet on silence, white and pink noise (${rate / 1000} kHz)`, async () => {
        for (const f of noiseFiles) {
          const { events, maxP } = await analyse(await get(), load(f.file, rate), rate);
          expect(events, f.file).toEqual([]);
          expect(maxP, f.file).toBeLessThan(0.3);
        }
      });
    }

    it('finds two utterances separated by a pause', async () => {
      const a = load('order-status-kal16.wav', 16000);
      const b = load('package-arrive-slt.wav', 16000);
      const pcm = new Int16Array(a.length + 16000 + b.length);
      pcm.set(a);
      pcm.set(b, a.length + 16000);
      const { events } = await analyse(await get(), pcm, 16000);
      expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end', 'speech_start', 'speech_end']);
      const secondOnset = LEAD_MS + ((a.length + 16000) * 1000) / 16000 + (speechFiles.find((f) => f.file === 'package-arrive-slt.wav')?.speechOnsetMs ?? 0);
      expect(Math.abs(at(events[2]) - secondOnset)).toBeLessThan(100);
    });
  });
}
