import { describe, expect, it } from 'vitest';
import { TurnGeneration } from '../../../src/room/turn-generation.ts';

describe('TurnGeneration', () => {
  it('a ticket is live until aborted or superseded; act runs effects only while live', () => {
    const gen = new TurnGeneration();
    const t1 = gen.begin();
    expect(t1.generation).toBe(1);
    expect(t1.isLive()).toBe(true);
    let n = 0;
    expect(t1.act(() => ++n)).toEqual({ done: true, value: 1 });
    const t2 = gen.begin();
    expect(t1.signal.aborted).toBe(true);
    expect(t1.isLive()).toBe(false);
    expect(t1.act(() => ++n)).toEqual({ done: false, reason: 'superseded' });
    expect(t2.isLive()).toBe(true);
    gen.abortCurrent('barge-in');
    expect(t2.act(() => ++n)).toEqual({ done: false, reason: 'aborted' });
    expect(t2.signal.reason).toBe('barge-in');
    expect(n).toBe(1);
  });

  it('follows the caller signal and orders settlement', async () => {
    const gen = new TurnGeneration();
    const parent = new AbortController();
    const t1 = gen.begin(parent.signal);
    parent.abort('hangup');
    expect(t1.signal.reason).toBe('hangup');
    const t2 = gen.begin();
    let previousDone = false;
    void t2.previousSettled().then(() => (previousDone = true));
    await Promise.resolve();
    expect(previousDone).toBe(false);
    t1.settle();
    await t2.previousSettled();
    expect(previousDone).toBe(true);
  });

  it('a ticket settled normally no longer listens to a long-lived caller signal', () => {
    const gen = new TurnGeneration();
    const call = new AbortController();
    const t = gen.begin(call.signal);
    t.settle();
    call.abort();
    expect(t.signal.aborted).toBe(false);
  });
});
