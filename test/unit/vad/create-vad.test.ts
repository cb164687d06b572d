import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { createVad } from '../../../src/vad/create-vad.ts';

function tone(n: number, amp: number): Int16Array {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(amp * Math.sin((2 * Math.PI * 300 * i) / 8000));
  return s;
}

describe('createVad', () => {
  it('builds the configured engine with the configured segmenting defaults', async () => {
    const energy = await createVad(validateConfig({ vad: { engine: 'energy', minSpeechMs: 40, minSilenceMs: 60 } }).vad);
    expect(energy.name).toBe('energy');
    const stream = energy.createStream({ sampleRate: 8000 });
    const events: string[] = [];
    const reading = (async () => {
      for await (const e of stream.events()) events.push(e.type);
    })();
    // 0.5 s quiet, 0.3 s loud, 0.5 s quiet in 20 ms frames: with 40/60 ms minimums one segment is found.
    let t = 0;
    for (const [ms, amp] of [[500, 0], [300, 12000], [500, 0]] as const) {
      for (let i = 0; i < ms / 20; i++, t += 20) stream.push({ samples: tone(160, amp), sampleRate: 8000, timestamp: t });
    }
    stream.end();
    await reading;
    expect(events.filter((e) => e === 'speech_start')).toHaveLength(1);
    expect(events.filter((e) => e === 'speech_end')).toHaveLength(1);
    await energy.close();
  });

  it('loads one Silero session for every call', async () => {
    const vad = await createVad(validateConfig({ vad: { engine: 'silero', sileroVersion: 'v5' } }).vad);
    expect(vad.name).toBe('silero');
    expect(vad.supportsSampleRate(8000) && vad.supportsSampleRate(16000)).toBe(true);
    await vad.close();
  });

  it('rejects thresholds the engine cannot use at config time', () => {
    expect(() => validateConfig({ vad: { threshold: 1 } })).toThrow(/vad\.threshold/);
    expect(() => validateConfig({ vad: { threshold: 0 } })).toThrow(/vad\.threshold/);
  });
});
