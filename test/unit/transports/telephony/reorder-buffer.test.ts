import { describe, expect, it } from 'vitest';
import { ReorderBuffer } from '../../../../src/transports/telephony/reorder-buffer.ts';

function run(seqs: number[], depth = 3): { out: number[]; stats: Record<string, number> } {
  const out: number[] = [];
  const r = new ReorderBuffer((p) => out.push(p[0] as number), depth);
  for (const s of seqs) r.push(s, Buffer.from([s]));
  r.flush();
  return { out, stats: r.stats() };
}

describe('ReorderBuffer', () => {
  it('delivers in order what came in order', () => {
    expect(run([1, 2, 3, 4]).out).toEqual([1, 2, 3, 4]);
  });

  it('puts swapped and shuffled frames back in order, the very first ones included', () => {
    expect(run([2, 1, 4, 3, 6, 5]).out).toEqual([1, 2, 3, 4, 5, 6]);
    expect(run([3, 1, 2, 5, 4]).out).toEqual([1, 2, 3, 4, 5]);
  });

  it('skips a lost frame once depth frames are held, and drops a late one', () => {
    const r = run([1, 3, 4, 5, 6, 2, 7]);
    expect(r.out).toEqual([1, 3, 4, 5, 6, 7]);
    expect(r.stats).toMatchObject({ lostFrames: 1, lateFrames: 1 });
  });

  it('drops duplicates and flushes what it holds at the end', () => {
    const r = run([1, 3, 3, 4]);
    expect(r.out).toEqual([1, 3, 4]);
    expect(r.stats).toMatchObject({ duplicateFrames: 1, lostFrames: 1 });
  });

  it('a stream counting from elsewhere costs a few frames of delay once', () => {
    expect(run([10, 11, 12, 13, 14]).out).toEqual([10, 11, 12, 13, 14]);
  });
});
