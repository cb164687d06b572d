import { describe, expect, it } from 'vitest';
import { BoundedChannel } from '../../../src/core/bounded-channel.ts';
import { AbortedError } from '../../../src/core/errors.ts';

describe('BoundedChannel', () => {
  it('drops the oldest item when full under drop-oldest', async () => {
    const ch = new BoundedChannel<number>(3, 'drop-oldest');
    for (let i = 0; i < 5; i++) expect(ch.push(i)).toBe(true);
    expect(ch.dropped).toBe(2);
    ch.close();
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    expect(got).toEqual([2, 3, 4]);
  });

  it('makes writers wait under the wait policy', async () => {
    const ch = new BoundedChannel<string>(1, 'wait');
    await ch.send('a');
    expect(ch.push('b')).toBe(false);
    let sent = false;
    const p = ch.send('b').then(() => {
      sent = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(sent).toBe(false);
    expect((await ch.next()).value).toBe('a');
    await p;
    expect(sent).toBe(true);
    expect((await ch.next()).value).toBe('b');
  });

  it('hands an item straight to a waiting reader', async () => {
    const ch = new BoundedChannel<number>(1, 'drop-oldest');
    const r = ch.next();
    ch.push(7);
    expect(await r).toEqual({ value: 7, done: false });
  });

  it('aborts a waiting reader and a waiting writer', async () => {
    const ch = new BoundedChannel<number>(1, 'wait');
    const ac = new AbortController();
    const r = ch.next(ac.signal);
    ac.abort();
    await expect(r).rejects.toBeInstanceOf(AbortedError);
    ch.push(1);
    const ac2 = new AbortController();
    const w = ch.send(2, ac2.signal);
    ac2.abort();
    await expect(w).rejects.toBeInstanceOf(AbortedError);
  });

  it('ends readers on close, or rethrows the close error', async () => {
    const ch = new BoundedChannel<number>(2, 'wait');
    const r = ch.next();
    ch.close();
    expect((await r).done).toBe(true);
    const ch2 = new BoundedChannel<number>(2, 'wait');
    const r2 = ch2.next();
    ch2.close(new Error('boom'));
    await expect(r2).rejects.toThrow('boom');
    expect(ch2.push(1)).toBe(false);
  });

  it('clear() discards queued items (barge-in flush)', () => {
    const ch = new BoundedChannel<number>(10, 'drop-oldest');
    for (let i = 0; i < 6; i++) ch.push(i);
    expect(ch.clear()).toBe(6);
    expect(ch.size).toBe(0);
    expect(ch.tryShift()).toBeUndefined();
  });

  it('keeps order over many items with compaction', () => {
    const ch = new BoundedChannel<number>(1000, 'drop-oldest');
    const got: number[] = [];
    for (let i = 0; i < 5000; i++) {
      ch.push(i);
      if (i % 3 === 0) got.push(ch.tryShift() as number);
    }
    while (ch.size > 0) got.push(ch.tryShift() as number);
    expect(got.length).toBe(5000 - ch.dropped);
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1] as number);
  });
});

describe('BoundedChannel send after clear (barge-in)', () => {
  it('a writer whose signal aborted does not slip its item into the channel emptied by clear()', async () => {
    const ch = new BoundedChannel<number>(1, 'wait');
    ch.push(1);
    const ac = new AbortController();
    const waiting = ch.send(2, ac.signal);
    ac.abort();
    ch.clear();
    await expect(waiting).rejects.toThrow();
    expect(ch.size).toBe(0);
  });

  it('an aborted signal refuses even when there is room', async () => {
    const ch = new BoundedChannel<number>(2, 'wait');
    const ac = new AbortController();
    ac.abort();
    await expect(ch.send(1, ac.signal)).rejects.toThrow();
    expect(ch.size).toBe(0);
  });
});
