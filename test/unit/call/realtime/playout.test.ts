/**
 * The realtime playout against a leg whose clock the test drives: audio goes out in order and only as the
 * leg takes it, each item's played audio is counted from the leg's played position, a barge-in stops
 * everything at once (writes in flight included) and reports exactly what was played of each item.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../src/core/logger.ts';
import { Playout } from '../../../../src/call/realtime/playout.ts';
import type { RealtimeAudioFormat } from '../../../../src/providers/types.ts';
import { PacedLeg } from './paced-leg.ts';

const MULAW: RealtimeAudioFormat = { encoding: 'mulaw', sampleRate: 8000 };
const PCM8: RealtimeAudioFormat = { encoding: 'pcm_s16le', sampleRate: 8000 };

/** Let promise chains and the playout loop run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** `ms` of mu-law whose bytes say which item and packet they are. */
function audio(tag: number, ms: number): Uint8Array {
  const out = new Uint8Array(ms * 8);
  for (let i = 0; i < out.length; i++) out[i] = (tag * 16 + Math.floor(i / 160)) & 0x7f;
  return out;
}

function setup(capacity = 5) {
  const leg = new PacedLeg(capacity);
  const active: boolean[] = [];
  const first: string[] = [];
  const playout = new Playout({ leg, logger: silentLogger(), onActive: (a) => active.push(a), onFirstAudio: (item) => first.push(item) });
  return { leg, playout, active, first };
}

describe('realtime playout', () => {
  it('paces items through the leg in order and hands over exactly the model bytes', async () => {
    const { leg, playout, first } = setup();
    const a = audio(1, 200);
    const b = audio(2, 100);
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: a.subarray(0, 960), format: MULAW });
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: a.subarray(960), format: MULAW });
    playout.enqueue({ itemId: 'b', responseId: 'r1', bytes: b, format: MULAW });
    await settle();
    // Only what the leg's buffer takes has been written; the rest waits here.
    expect(leg.queued).toBe(5);
    for (let i = 0; i < 20; i++) {
      leg.tick();
      await settle();
    }
    expect(Buffer.concat(leg.played)).toEqual(Buffer.concat([a, b]));
    expect(first).toEqual(['a', 'b']);
  });

  it('a barge-in stops at once and reports what was played of each item, writes in flight included', async () => {
    const { leg, playout, active } = setup();
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: audio(1, 400), format: MULAW });
    playout.enqueue({ itemId: 'b', responseId: 'r2', bytes: audio(2, 200), format: MULAW });
    await settle();
    for (let i = 0; i < 7; i++) {
      leg.tick();
      await settle();
    }
    expect(playout.active).toBe(true);
    // A write is waiting for room in the leg's buffer right now.
    const { cuts, droppedMs } = playout.interrupt();
    expect(cuts).toEqual([
      { itemId: 'a', responseId: 'r1', playedMs: 140, receivedMs: 400 },
      { itemId: 'b', responseId: 'r2', playedMs: 0, receivedMs: 200 },
    ]);
    // Everything not played: 460 ms, in the leg's buffer or still here.
    expect(droppedMs).toBe(460);
    expect(playout.active).toBe(false);
    expect(active).toEqual([true, false]);
    await settle();
    leg.tick(10);
    expect(leg.played).toHaveLength(7);
    expect(leg.queued).toBe(0);
  });

  it('after a barge-in, new audio plays from the line position on and its own items are counted from there', async () => {
    const { leg, playout } = setup();
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: audio(1, 400), format: MULAW });
    await settle();
    leg.tick(3);
    await settle();
    playout.interrupt();
    playout.enqueue({ itemId: 'c', responseId: 'r3', bytes: audio(3, 100), format: MULAW });
    await settle();
    leg.tick(2);
    await settle();
    expect(playout.interrupt().cuts).toEqual([{ itemId: 'c', responseId: 'r3', playedMs: 40, receivedMs: 100 }]);
  });

  it('an item played to its end is not cut; a response still going keeps playout active until it is done', async () => {
    const { leg, playout } = setup(10);
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: audio(1, 100), format: MULAW });
    await settle();
    leg.tick(5);
    await settle();
    // All of it has played, but the response may send more.
    expect(playout.active).toBe(true);
    expect(playout.interrupt().cuts).toEqual([{ itemId: 'a', responseId: 'r1', playedMs: 100, receivedMs: 100 }]);

    playout.enqueue({ itemId: 'b', responseId: 'r2', bytes: audio(2, 100), format: MULAW });
    playout.responseDone('r2');
    await settle();
    leg.tick(5);
    await settle();
    expect(playout.active).toBe(false);
    expect(playout.interrupt().cuts).toEqual([]);
  });

  it('the end of an answer flushes its partial packet, then waits for the line to play out before going quiet', async () => {
    const { leg, playout } = setup(10);
    let out = false;
    playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: audio(1, 50), format: MULAW });
    playout.responseDone('r1');
    void playout.playedOut().then(() => (out = true));
    await settle();
    expect(leg.drains).toBe(1);
    expect(leg.queued).toBe(3);
    expect(out).toBe(false);
    leg.tick(3);
    await settle();
    expect(out).toBe(true);
    expect(leg.played[2]?.subarray(80)).toEqual(new Uint8Array(80).fill(0xff));
  });

  it('PCM split at odd byte offsets reaches the leg as the same samples', async () => {
    const { leg, playout } = setup(50);
    const samples = Int16Array.from({ length: 800 }, (_, i) => ((i * 97) % 20000) - 10000);
    const bytes = new Uint8Array(samples.buffer);
    for (const [from, to] of [[0, 3], [3, 401], [401, 1000], [1000, 1600]] as const) {
      playout.enqueue({ itemId: 'a', responseId: 'r1', bytes: bytes.slice(from, to), format: PCM8 });
    }
    await settle();
    const got = Int16Array.from(leg.frames.flatMap((f) => [...f.samples]));
    expect(got).toEqual(samples);
  });
});
