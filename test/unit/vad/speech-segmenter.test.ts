import { describe, expect, it } from 'vitest';
import { SpeechSegmenter } from '../../../src/vad/speech-segmenter.ts';
import { resolveVadOptions, type VadEvent } from '../../../src/vad/vad.ts';

const WIN = 32;

/** Feed a probability per 32 ms window starting at `startMs`; returns the events. */
function run(probs: readonly number[], options = {}, startMs = 0, finish = false): VadEvent[] {
  const events: VadEvent[] = [];
  const seg = new SpeechSegmenter(resolveVadOptions({ threshold: 0.5, minSpeechMs: 96, minSilenceMs: 128, speechPadMs: 30, ...options }), (e) =>
    events.push(e),
  );
  probs.forEach((p, i) => seg.update(p, startMs + i * WIN, WIN));
  if (finish) seg.finish();
  return events;
}

const rep = (p: number, n: number): number[] => Array.from({ length: n }, () => p);

describe('SpeechSegmenter', () => {
  it('reports speech_start once minSpeechMs of speech is seen, padded before the onset', () => {
    const events = run([...rep(0, 10), ...rep(0.9, 3), ...rep(0.9, 5)]);
    expect(events).toEqual([{ type: 'speech_start', timestamp: 10 * WIN - 30 }]);
  });

  it('ignores bursts shorter than minSpeechMs', () => {
    expect(run([...rep(0, 5), ...rep(0.9, 2), ...rep(0, 10), ...rep(0.95, 1), ...rep(0.1, 10)])).toEqual([]);
  });

  it('reports speech_end after minSilenceMs of silence, at the silence onset plus padding', () => {
    const events = run([...rep(0, 4), ...rep(0.9, 10), ...rep(0.05, 4), ...rep(0, 4)]);
    expect(events).toEqual([
      { type: 'speech_start', timestamp: 4 * WIN - 30 },
      { type: 'speech_end', timestamp: 14 * WIN + 30, startTimestamp: 4 * WIN - 30 },
    ]);
  });

  it('a short pause inside speech does not end it', () => {
    const events = run([...rep(0.9, 10), ...rep(0.1, 3), ...rep(0.9, 10)]);
    expect(events.map((e) => e.type)).toEqual(['speech_start']);
  });

  it('applies hysteresis: probabilities between negThreshold and threshold keep the current state', () => {
    // In speech, 0.4 (>= 0.35) does not start the silence timer.
    const inSpeech = run([...rep(0.9, 5), ...rep(0.4, 20)]);
    expect(inSpeech.map((e) => e.type)).toEqual(['speech_start']);
    // In silence, 0.4 does not open a candidate.
    expect(run(rep(0.4, 20))).toEqual([]);
    // A candidate survives in-between windows and is confirmed through them.
    expect(run([0.9, 0.4, 0.4, 0.4]).map((e) => e.type)).toEqual(['speech_start']);
    // But a window below negThreshold drops it.
    expect(run([0.9, 0.4, 0.2, 0.4, 0.4])).toEqual([]);
  });

  it('never pads speech_start before the first analysed window', () => {
    const events = run(rep(0.9, 5), {}, 1000);
    expect(events[0]).toEqual({ type: 'speech_start', timestamp: 1000 });
  });

  it('never reports speech_end later than the audio analysed', () => {
    const events = run([...rep(0.9, 5), ...rep(0, 4)], { speechPadMs: 500, minSilenceMs: 100 });
    const end = events.find((e) => e.type === 'speech_end');
    expect(end?.timestamp).toBe(9 * WIN);
  });

  it('finish() closes an open segment at the last window end or the tentative end', () => {
    expect(run(rep(0.9, 10), {}, 0, true).at(-1)).toEqual({ type: 'speech_end', timestamp: 10 * WIN, startTimestamp: 0 });
    expect(run([...rep(0.9, 10), 0.1, 0.1], {}, 0, true).at(-1)).toEqual({ type: 'speech_end', timestamp: 10 * WIN + 30, startTimestamp: 0 });
    expect(run(rep(0, 10), {}, 0, true)).toEqual([]);
  });

  it('alternates start and end over several utterances', () => {
    const probs = [...rep(0, 5), ...rep(0.9, 10), ...rep(0, 10), ...rep(0.9, 10), ...rep(0, 10)];
    expect(run(probs).map((e) => e.type)).toEqual(['speech_start', 'speech_end', 'speech_start', 'speech_end']);
  });

  it('resolveVadOptions validates and defaults negThreshold', () => {
    expect(resolveVadOptions({ threshold: 0.6 }).negThreshold).toBeCloseTo(0.45);
    expect(resolveVadOptions({}).threshold).toBe(0.5);
    expect(() => resolveVadOptions({ threshold: 1.5 })).toThrow(/threshold/);
    expect(() => resolveVadOptions({ minSilenceMs: -1 })).toThrow(/minSilenceMs/);
    expect(() => resolveVadOptions({ threshold: 0.5, negThreshold: 0.7 })).toThrow(/negThreshold/);
    expect(() => resolveVadOptions({ speechPadMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'CR_VAD_CONFIG' }));
  });
});
