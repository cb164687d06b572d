/**
 * PocketsphinxSession's audio queue against a stand-in native library whose decoder can be held
 * back, so a decoder that falls behind is simulated without loading the real models.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/core/logger.ts';
import type { PocketsphinxDecoder, PocketsphinxPool } from '../../../../src/providers/pocketsphinx/decoder-pool.ts';
import type { NativePointer, PocketsphinxLib } from '../../../../src/providers/pocketsphinx/pocketsphinx-ffi.ts';
import { PocketsphinxSession } from '../../../../src/providers/pocketsphinx/pocketsphinx-session.ts';
import type { SttEvent } from '../../../../src/providers/types.ts';

/** A decoder whose `processRaw` waits while `held`; it records how many samples it was fed. */
function fakeDecoder(): { decoder: PocketsphinxDecoder; fed: () => number; hold: (on: boolean) => void; speechAt: (sample: number) => void } {
  let fed = 0;
  let held = true;
  let speechFrom = Infinity;
  const waiters: Array<() => void> = [];
  const lib: PocketsphinxLib = {
    psArgs: () => ({}),
    cmdLnParse: () => ({}),
    cmdLnFree: () => undefined,
    init: async () => ({}),
    free: () => undefined,
    reinit: async () => 0,
    startUtt: () => 0,
    processRaw: async (_ps: NativePointer, _samples: Int16Array, count: number) => {
      while (held) await new Promise<void>((r) => waiters.push(r));
      fed += count;
      return Math.floor(count / 160);
    },
    endUtt: async () => 0,
    getHyp: () => null,
    getInSpeech: () => fed > speechFrom,
    segments: () => [],
  };
  return {
    decoder: { lib, ps: {}, samplesFed: 0 },
    fed: () => fed,
    hold: (on) => {
      held = on;
      if (!on) for (const w of waiters.splice(0)) w();
    },
    speechAt: (sample) => {
      speechFrom = sample;
    },
  };
}

const pool = { release: () => undefined, discard: () => undefined } as unknown as PocketsphinxPool;

function logSink(): { lines: Array<{ msg: string; level: number; droppedMs?: number }>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<{ msg: string; level: number; droppedMs?: number }> = [];
  const logger = createLogger({ level: 'info', redactContent: false }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }));
  return { lines, logger };
}

describe('PocketsphinxSession audio queue', () => {
  it('holds at most maxQueueMs of audio, dropping the oldest, counting and logging it once', async () => {
    const d = fakeDecoder();
    const { lines, logger } = logSink();
    const session = new PocketsphinxSession(d.decoder, pool, { sampleRate: 16000, encoding: 'pcm_s16le', chunkMs: 100, maxQueueMs: 5000, resampler: undefined, logger });
    const events: SttEvent[] = [];
    const reading = (async () => {
      for await (const e of session.events()) events.push(e);
    })();
    // 10 s of audio while the decoder is stuck on its first 100 ms chunk.
    for (let i = 0; i < 500; i++) session.write({ samples: new Int16Array(320).fill(i), sampleRate: 16000, timestamp: i * 20 });
    expect(session.queuedMs).toBe(5000);
    expect(session.droppedMs).toBe(10_000 - 5000 - 100);
    await new Promise((r) => setImmediate(r));
    const warnings = lines.filter((l) => l.msg === 'pocketsphinx: decoder behind, dropping the oldest queued audio');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40 });
    // The decoder catches up; the kept audio (the newest 5 s) is all it gets.
    d.hold(false);
    await session.close();
    await reading;
    expect(d.fed()).toBe(16000 * 5.1);
    expect(events.at(-1)).toEqual({ type: 'closed' });
  });

  it('places speech after a drop at its time in the caller audio', async () => {
    const d = fakeDecoder();
    const { logger } = logSink();
    const session = new PocketsphinxSession(d.decoder, pool, { sampleRate: 16000, encoding: 'pcm_s16le', chunkMs: 100, maxQueueMs: 1000, resampler: undefined, logger });
    const events: SttEvent[] = [];
    const reading = (async () => {
      for await (const e of session.events()) events.push(e);
    })();
    // 3 s written while stuck: 0.1 s in flight, 1 s kept, 1.9 s dropped. The decoder hears speech
    // from its 0.5 s on, which is 0.5 + 1.9 = 2.4 s into the caller's audio.
    for (let i = 0; i < 150; i++) session.write({ samples: new Int16Array(320), sampleRate: 16000, timestamp: i * 20 });
    expect(session.droppedMs).toBe(1900);
    d.speechAt(16000 * 0.5);
    d.hold(false);
    await session.close();
    await reading;
    const started = events.find((e) => e.type === 'speech_started');
    expect(started?.type === 'speech_started' && Number(started.timestamp.toFixed(3))).toBe(2.4);
  });

  it('drops nothing while the decoder keeps up', async () => {
    const d = fakeDecoder();
    d.hold(false);
    const { lines, logger } = logSink();
    const session = new PocketsphinxSession(d.decoder, pool, { sampleRate: 16000, encoding: 'pcm_s16le', chunkMs: 100, maxQueueMs: 5000, resampler: undefined, logger });
    for (let i = 0; i < 500; i++) {
      session.write({ samples: new Int16Array(320), sampleRate: 16000, timestamp: i * 20 });
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    await session.close();
    expect(session.droppedMs).toBe(0);
    expect(d.fed()).toBe(16000 * 10);
    expect(lines).toEqual([]);
  });
});
