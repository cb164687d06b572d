import { describe, expect, it } from 'vitest';
import { ToolBatches } from '../../../../src/providers/gemini-live/tool-batches.ts';

const r = (id: string, output: unknown) => ({ id, name: 'f', response: { output } });

describe('ToolBatches (Gemini toolResponse batching)', () => {
  it('hands back the batch when its last call is answered, in answer order', () => {
    const b = new ToolBatches();
    b.add(['a', 'b']);
    expect(b.answer(r('b', 2))).toBeUndefined();
    expect(b.answer(r('a', 1))).toEqual([r('b', 2), r('a', 1)]);
    expect(b.pending).toBe(0);
    expect(b.answer(r('a', 1))).toBe('unknown');
  });

  it('keeps batches of different messages apart', () => {
    const b = new ToolBatches();
    b.add(['a']);
    b.add(['x', 'y']);
    expect(b.answer(r('x', 0))).toBeUndefined();
    expect(b.answer(r('a', 0))).toEqual([r('a', 0)]);
    expect(b.ids()).toEqual(['y']);
  });

  it('a withdrawal can complete a batch whose other calls were answered', () => {
    const b = new ToolBatches();
    b.add(['a', 'b', 'c']);
    b.answer(r('a', 1));
    expect(b.withdraw(['b', 'nope'])).toEqual({ withdrawn: ['b'], complete: [] });
    expect(b.withdraw(['c'])).toEqual({ withdrawn: ['c'], complete: [[r('a', 1)]] });
    // Everything withdrawn and nothing answered: nothing to send.
    b.add(['d']);
    expect(b.withdraw(['d'])).toEqual({ withdrawn: ['d'], complete: [] });
  });
});
