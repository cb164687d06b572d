import { describe, expect, it } from 'vitest';
import { ManagedLeg } from '../../../../src/call/recording/managed-leg.ts';
import { sayGoodbye } from '../../../../src/call/recording/say-goodbye.ts';
import type { TtsChunk, TtsProvider, TtsRequest } from '../../../../src/providers/types.ts';
import { ClockedLeg, level, span } from './clocked-leg.ts';

describe('ManagedLeg playout marks', () => {
  it('tells when the first packet of audio written into an idle output left', async () => {
    const inner = new ClockedLeg();
    const leg = new ManagedLeg(inner, inner.clock);
    inner.step(3);
    const writtenAt = inner.clock.now();
    await leg.write({ samples: level(200, 100), sampleRate: 8000, timestamp: 0 });
    // The first packet leaves at the next slot (20 ms); the watch notices within its 5 ms poll.
    inner.step(2);
    const out = leg.firstPacketAfter(writtenAt);
    expect(out).toBeDefined();
    expect((out as number) - writtenAt).toBeGreaterThanOrEqual(20);
    expect((out as number) - writtenAt).toBeLessThanOrEqual(25);
    expect(leg.firstPacketAfter(writtenAt + 50)).toBeUndefined();
  });

  it('measures the wait behind audio still queued after a pause in writing', async () => {
    const inner = new ClockedLeg();
    const leg = new ManagedLeg(inner, inner.clock);
    await leg.write({ samples: level(500, 1), sampleRate: 8000, timestamp: 0 });
    inner.step(10);
    // 200 ms later, 300 ms still queued: the new audio starts to leave after them.
    const writtenAt = inner.clock.now();
    await leg.write({ samples: level(200, 2), sampleRate: 8000, timestamp: 0 });
    inner.step(20);
    const out = leg.firstPacketAfter(writtenAt) as number;
    expect(out - writtenAt).toBeGreaterThanOrEqual(300);
    expect(out - writtenAt).toBeLessThanOrEqual(325);
  });

  it('forgets audio dropped by a clear before it played', async () => {
    const inner = new ClockedLeg();
    const leg = new ManagedLeg(inner, inner.clock);
    await leg.write({ samples: level(500, 1), sampleRate: 8000, timestamp: 0 });
    inner.step(5);
    const writtenAt = inner.clock.now();
    await leg.write({ samples: level(200, 2), sampleRate: 8000, timestamp: 0 });
    inner.clock.advance(1);
    await leg.write({ samples: level(20, 2), sampleRate: 8000, timestamp: 0 });
    leg.clearOutput();
    inner.step(30);
    expect(leg.firstPacketAfter(writtenAt)).toBeUndefined();
  });
});

describe('ManagedLeg take-over and the goodbye', () => {
  const voice = (name: string, behaviour: 'speak' | 'fail'): TtsProvider => ({
    name,
    encodings: ['pcm_s16le'],
    sampleRates: [8000],
    async *synthesize(request: TtsRequest): AsyncIterable<TtsChunk> {
      let text = '';
      for await (const t of request.text) text += t;
      if (behaviour === 'fail') throw new Error('voice down');
      yield { type: 'audio', encoding: 'pcm_s16le', sampleRate: 8000, pcm: level(text.length * 10, 777) };
    },
  });

  it('silences the session and speaks the goodbye with the first voice that works', async () => {
    const inner = new ClockedLeg();
    const leg = new ManagedLeg(inner, inner.clock);
    await leg.write({ samples: level(1000, 5), sampleRate: 8000, timestamp: 0 });
    inner.step(5);
    const direct = leg.takeOver();
    expect(leg.muted).toBe(true);
    // The session keeps writing and clearing: none of it reaches the caller any more.
    await leg.write({ samples: level(100, 6), sampleRate: 8000, timestamp: 0 });
    expect(leg.sendFrame({ samples: level(20, 6), sampleRate: 8000, timestamp: 0 })).toBe(false);
    const spoke = sayGoodbye(direct, [voice('down', 'fail'), voice('up', 'speak')], 'Goodbye.', new AbortController().signal);
    await new Promise((r) => setTimeout(r, 0));
    leg.clearOutput();
    inner.step(10);
    expect(await spoke).toBe(true);
    const heard = Int16Array.from(inner.played);
    expect(span(heard, 5)?.ms).toBe(100);
    expect(span(heard, 6)).toBeUndefined();
    expect(span(heard, 777)?.ms).toBe(80);
  });

  it('says nothing when every voice fails or the line is empty', async () => {
    const inner = new ClockedLeg();
    expect(await sayGoodbye(inner, [voice('down', 'fail')], 'Goodbye.', new AbortController().signal)).toBe(false);
    expect(await sayGoodbye(inner, [voice('up', 'speak')], '  ', new AbortController().signal)).toBe(false);
    expect(inner.outputPosition().writtenMs).toBe(0);
  });
});
