import { describe, expect, it } from 'vitest';
import { FakeClock, systemClock } from '../../../src/core/clock.ts';

describe('FakeClock', () => {
  it('fires timers in due order, including timers set by timers', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@30'), 30);
    clock.setTimeout(() => {
      fired.push('a@10');
      clock.setTimeout(() => fired.push('c@15'), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('never'), 20);
    clock.clearTimeout(cancelled);
    clock.advance(25);
    expect(fired).toEqual(['a@10', 'c@15']);
    expect(clock.now()).toBe(1025);
    clock.advance(5);
    expect(fired).toEqual(['a@10', 'c@15', 'b@30']);
    expect(clock.pending).toBe(0);
  });

  it('reports the due time as now() inside a callback', () => {
    const clock = new FakeClock();
    let seen = -1;
    clock.setTimeout(() => {
      seen = clock.now();
    }, 40);
    clock.advance(100);
    expect(seen).toBe(40);
  });
});

describe('systemClock', () => {
  it('runs and cancels real timers', async () => {
    const clock = systemClock();
    let n = 0;
    clock.setTimeout(() => n++, 1);
    const h = clock.setTimeout(() => (n += 10), 1);
    clock.clearTimeout(h);
    await new Promise((r) => setTimeout(r, 20));
    expect(n).toBe(1);
  });
});
