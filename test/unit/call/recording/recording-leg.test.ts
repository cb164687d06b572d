import { describe, expect, it } from 'vitest';
import { RecordingLeg } from '../../../../src/call/recording/recording-leg.ts';
import { ClockedLeg, level, MemorySink, span } from './clocked-leg.ts';

function setup(flushMs = 500): { leg: ClockedLeg; sink: MemorySink; rec: RecordingLeg } {
  const leg = new ClockedLeg();
  const sink = new MemorySink();
  const rec = new RecordingLeg(leg, { sink, sampleRate: 8000, clock: leg.clock, flushMs });
  return { leg, sink, rec };
}

describe('RecordingLeg', () => {
  it('puts the caller left and the agent right, each where it was heard', async () => {
    const { leg, sink, rec } = setup();
    // Caller speaks 0-400 ms; the agent answers at 600 ms with 500 ms of audio.
    leg.caller = level(400, 1000);
    leg.step(30);
    await rec.write({ samples: level(500, -2000), sampleRate: 8000, timestamp: 0 });
    leg.step(40);
    leg.end();
    await rec.finished;
    const caller = span(sink.channel(0), 1000);
    const agent = span(sink.channel(1), -2000);
    expect(caller).toEqual({ startMs: 0, endMs: 400, ms: 400 });
    // Written at 600 ms into an idle output: it played from then on.
    expect(agent).toEqual({ startMs: 600, endMs: 1100, ms: 500 });
    expect(sink.closed).toBe(true);
    // The file is as long as the call.
    expect(sink.frames / 8).toBe(1400);
  });

  it('keeps only what played of a reply cut by barge-in', async () => {
    const { leg, sink, rec } = setup();
    await rec.write({ samples: level(2000, 3000), sampleRate: 8000, timestamp: 0 });
    leg.step(15);
    const dropped = rec.clearOutput();
    expect(dropped.droppedMs).toBe(1700);
    leg.step(20);
    // The next reply plays after the cut, and only it.
    await rec.write({ samples: level(200, 4000), sampleRate: 8000, timestamp: 0 });
    leg.step(20);
    leg.end();
    await rec.finished;
    expect(span(sink.channel(1), 3000)).toEqual({ startMs: 0, endMs: 300, ms: 300 });
    expect(span(sink.channel(1), 4000)).toEqual({ startMs: 700, endMs: 900, ms: 200 });
    // What was on the wire of the caller's side matches: the leg played exactly that.
    expect(leg.played.filter((s) => s === 3000)).toHaveLength(300 * 8);
  });

  it('leaves the pause in the agent track when output is held', async () => {
    const { leg, sink, rec } = setup();
    await rec.write({ samples: level(400, 500), sampleRate: 8000, timestamp: 0 });
    leg.step(10);
    rec.pauseOutput(true);
    leg.step(10);
    rec.pauseOutput(false);
    leg.step(20);
    leg.end();
    await rec.finished;
    const right = sink.channel(1);
    expect(span(right.subarray(0, 200 * 8), 500)?.ms).toBe(200);
    expect(span(right.subarray(200 * 8, 400 * 8), 500)).toBeUndefined();
    expect(span(right.subarray(400 * 8), 500)).toEqual({ startMs: 0, endMs: 200, ms: 200 });
  });

  it('writes out as it goes: after 3 s at most about one flush interval is missing', async () => {
    const { leg, sink } = setup(500);
    leg.caller = level(3000, 700);
    leg.step(150);
    expect(sink.flushes).toBeGreaterThanOrEqual(5);
    // Everything up to 150 ms (hold-back) before the last flush is out.
    expect(sink.frames / 8).toBeGreaterThanOrEqual(3000 - 500 - 150);
    expect(sink.closed).toBe(false);
    leg.end();
  });

  it('records agent audio given to sendFrame', async () => {
    const { leg, sink, rec } = setup();
    expect(rec.sendFrame({ samples: level(100, 1200), sampleRate: 8000, timestamp: 0 })).toBe(true);
    leg.step(10);
    leg.end();
    await rec.finished;
    expect(span(sink.channel(1), 1200)).toEqual({ startMs: 0, endMs: 100, ms: 100 });
  });

  it('records a WebSocket-like caller that sends nothing: silence, with the agent in place', async () => {
    const { leg, sink, rec } = setup();
    leg.silentCaller = true;
    leg.step(25);
    await rec.write({ samples: level(200, 900), sampleRate: 8000, timestamp: 0 });
    leg.step(25);
    leg.end();
    await rec.finished;
    expect(span(sink.channel(1), 900)).toEqual({ startMs: 500, endMs: 700, ms: 200 });
    expect(span(sink.channel(0), 0)?.ms).toBe(1000);
  });
});
