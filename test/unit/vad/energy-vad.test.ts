import { describe, expect, it } from 'vitest';
import { EnergyVad } from '../../../src/vad/energy-vad.ts';
import type { VadEvent, VadStream } from '../../../src/vad/vad.ts';

/** Deterministic noise in [-1, 1). */
function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  };
}

/** Segments of [durationMs, dBFS of a 300 Hz tone + noise or -Infinity] at `rate`. */
function signal(rate: number, parts: ReadonlyArray<readonly [number, number]>): Int16Array {
  const r = noise(3);
  const total = parts.reduce((n, [ms]) => n + (ms * rate) / 1000, 0);
  const out = new Int16Array(total);
  let at = 0;
  for (const [ms, db] of parts) {
    const amp = Number.isFinite(db) ? 32767 * 10 ** (db / 20) : 0;
    for (let i = 0; i < (ms * rate) / 1000; i++, at++) {
      out[at] = Math.round(amp * (0.7 * Math.sin((2 * Math.PI * 300 * at) / rate) + 0.3 * r()) + 20 * r());
    }
  }
  return out;
}

function feed(stream: VadStream, pcm: Int16Array, rate: number, startMs = 0): void {
  const n = rate / 50;
  for (let i = 0; i + n <= pcm.length; i += n) {
    stream.push({ samples: pcm.subarray(i, i + n), sampleRate: rate, timestamp: startMs + (i * 1000) / rate });
  }
}

describe('EnergyVad', () => {
  it.each([8000, 16000, 48000])('marks a loud segment between quiet ones at %i Hz', (rate) => {
    const events: VadEvent[] = [];
    const vad = new EnergyVad();
    const s = vad.createStream({ sampleRate: rate, onEvent: (e) => events.push(e) });
    feed(s, signal(rate, [[1000, -Infinity], [1200, -20], [1000, -Infinity]]), rate);
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
    const [start, end] = events;
    expect(start?.type === 'speech_start' && start.timestamp).toBeGreaterThanOrEqual(940);
    expect(start?.type === 'speech_start' && start.timestamp).toBeLessThanOrEqual(1000);
    expect(end?.type === 'speech_end' && end.timestamp).toBeGreaterThanOrEqual(2200);
    expect(end?.type === 'speech_end' && end.timestamp).toBeLessThanOrEqual(2260);
  });

  it('stays quiet on silence, on very quiet hiss and on steady noise present from the start', () => {
    for (const parts of [[[3000, -Infinity]], [[3000, -60]], [[5000, -25]]] as const) {
      const events: VadEvent[] = [];
      const s = new EnergyVad().createStream({ sampleRate: 16000, onEvent: (e) => events.push(e) });
      feed(s, signal(16000, parts), 16000);
      expect(events).toEqual([]);
    }
  });

  it('learns steady noise that starts mid-stream as floor and ends the segment', () => {
    const events: VadEvent[] = [];
    const s = new EnergyVad().createStream({ sampleRate: 16000, onEvent: (e) => events.push(e) });
    feed(s, signal(16000, [[1000, -Infinity], [30_000, -30]]), 16000);
    expect(events.map((e) => e.type)).toEqual(['speech_start', 'speech_end']);
  });

  it('uses the frames timestamps and delivers events through events() too', async () => {
    const s = new EnergyVad().createStream({ sampleRate: 8000, minSpeechMs: 100, speechPadMs: 0 });
    const seen: VadEvent[] = [];
    const reader = (async () => {
      for await (const e of s.events()) seen.push(e);
    })();
    feed(s, signal(8000, [[500, -Infinity], [600, -15]]), 8000, 10_000);
    expect(s.speaking).toBe(true);
    await s.end();
    await reader;
    expect(seen).toEqual([
      { type: 'speech_start', timestamp: 10_500 },
      { type: 'speech_end', timestamp: 11_100, startTimestamp: 10_500 },
    ]);
  });

  it('refuses frames of another rate, empty frames and frames after close, without throwing', () => {
    const vad = new EnergyVad();
    const s = vad.createStream({ sampleRate: 16000 });
    expect(s.push({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 })).toBe(false);
    expect(s.push({ samples: new Int16Array(0), sampleRate: 16000, timestamp: 0 })).toBe(false);
    expect(s.push({ samples: new Int16Array(320), sampleRate: 16000, timestamp: 0 })).toBe(true);
    s.close();
    s.close();
    expect(s.push({ samples: new Int16Array(320), sampleRate: 16000, timestamp: 20 })).toBe(false);
  });

  it('a throwing listener does not break push', () => {
    const s = new EnergyVad().createStream({
      sampleRate: 16000,
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(() => feed(s, signal(16000, [[500, -Infinity], [1000, -15]]), 16000)).not.toThrow();
    expect(s.speaking).toBe(true);
  });

  it('rejects bad options and rates at createStream with CR_VAD_CONFIG', () => {
    const vad = new EnergyVad();
    expect(() => vad.createStream({ sampleRate: 100 })).toThrow(expect.objectContaining({ code: 'CR_VAD_CONFIG' }));
    expect(() => vad.createStream({ sampleRate: 16000, threshold: 2 })).toThrow(expect.objectContaining({ code: 'CR_VAD_CONFIG' }));
  });

  it('close() of the engine closes its streams and ends their iterables', async () => {
    const vad = new EnergyVad();
    const s = vad.createStream({ sampleRate: 16000 });
    const done = (async () => {
      for await (const _ of s.events()) void _;
    })();
    await vad.close();
    await done;
    expect(s.push({ samples: new Int16Array(320), sampleRate: 16000, timestamp: 0 })).toBe(false);
  });
});
