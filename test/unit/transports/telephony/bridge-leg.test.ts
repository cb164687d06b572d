/**
 * BridgeLeg on a fake clock with a recording wire: keys go out as tones through the paced playout and stop at
 * a barge-in like speech; a pause flushes a queuing platform once and takes its lead back for a resume.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { Pacer } from '../../../../src/media/rtp/pacer.ts';
import { BridgeLeg } from '../../../../src/transports/telephony/bridge-leg.ts';
import { heardKeys } from '../../../support/dtmf-keys.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

function setup() {
  const clock = new FakeClock(1000);
  const pacer = new Pacer({ clock });
  const audio: Int16Array[] = [];
  const wire = { clears: 0, marks: [] as string[] };
  const leg = new BridgeLeg({
    callId: 'c1',
    medium: 'test',
    input: { sampleRate: 8000, encoding: 'pcm_s16le' },
    output: { sampleRate: 8000, encoding: 'pcm_s16le' },
    pacer,
    playout: { bufferMs: 1000, leadMs: 200, markEveryMs: 100, markTimeoutMs: 2000, maxPendingMarks: 25, realtimeLeadMs: 20 },
    queued: true,
    wire: {
      audio: (pcm) => audio.push(new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength))) > 0,
      mark: (name) => void wire.marks.push(name),
      clear: () => void wire.clears++,
      close: () => undefined,
    },
    logger: silentLogger(),
  });
  closers.push(() => leg.shutdown(), () => pacer.close());
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      await new Promise((r) => setImmediate(r));
    }
  };
  const all = () => Int16Array.from(audio.flatMap((a) => [...a]));
  return { clock, leg, audio, wire, run, all };
}

describe('BridgeLeg', () => {
  it('sends keys as tones, paced, and stops the keys still to come at a barge-in', async () => {
    const t = setup();
    await t.leg.answer();
    void t.leg.sendDtmf('12', 100);
    await t.run(600);
    expect(heardKeys(t.all(), 8000)).toBe('12');
    expect(t.leg.mediaStats()['dtmfOut']).toBe(2);

    const u = setup();
    await u.leg.answer();
    const sending = u.leg.sendDtmf('123456789', 100);
    await u.run(100);
    u.leg.clearOutput();
    await u.run(3000);
    await sending;
    // The 200 ms lead went out before the barge-in; the keys after it never did.
    expect(heardKeys(u.all(), 8000).length).toBeLessThanOrEqual(2);
  });

  it('a pause flushes the platform once and the reply then resumes from where it was taken back', async () => {
    const t = setup();
    await t.leg.answer();
    const samples = new Int16Array(8000).map((_, i) => Math.floor(i / 160) + 1);
    void t.leg.write({ samples, sampleRate: 8000, timestamp: 0 });
    await t.run(300);
    const sentBefore = t.audio.length;
    t.leg.pauseOutput(true);
    expect(t.wire.clears).toBe(1);
    t.leg.pauseOutput(true);
    expect(t.wire.clears).toBe(1);
    await t.run(300);
    expect(t.audio.length).toBe(sentBefore);
    t.leg.pauseOutput(false);
    await t.run(1500);
    // Frames are numbered 1..50: after the resume the numbering goes back to the first frame not played.
    const numbers = t.audio.map((a) => a[0] as number);
    const resumedAt = numbers[sentBefore] as number;
    expect(resumedAt).toBeLessThan(numbers[sentBefore - 1] as number);
    expect(numbers.slice(sentBefore)).toEqual(Array.from({ length: 51 - resumedAt }, (_, i) => resumedAt + i));
    expect(t.leg.mediaStats()['pauseFlushes']).toBe(1);
  });
});
