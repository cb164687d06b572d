import { describe, expect, it } from 'vitest';
import { AudioBacklog } from '../../../../src/providers/deepgram/audio-backlog.ts';

describe('AudioBacklog', () => {
  it('keeps copies in order and empties on take', () => {
    const b = new AudioBacklog(100);
    const buf = new Uint8Array([1, 2, 3]);
    b.push(buf);
    buf.fill(9); // caller reuses its buffer
    b.push(new Uint8Array([4]));
    expect(b.bytes).toBe(4);
    const { chunks, droppedBytes } = b.take();
    expect(chunks.map((c) => [...c])).toEqual([[1, 2, 3], [4]]);
    expect(droppedBytes).toBe(0);
    expect(b.bytes).toBe(0);
    expect(b.take().chunks).toEqual([]);
  });

  it('drops the oldest audio beyond maxBytes and counts it', () => {
    const b = new AudioBacklog(10);
    for (let i = 0; i < 6; i++) b.push(new Uint8Array(4).fill(i));
    expect(b.bytes).toBeLessThanOrEqual(10);
    const { chunks, droppedBytes } = b.take();
    expect(chunks.map((c) => c[0])).toEqual([4, 5]);
    expect(droppedBytes).toBe(16);
  });

  it('ignores empty chunks and rejects a zero size', () => {
    const b = new AudioBacklog(4);
    b.push(new Uint8Array(0));
    expect(b.take().chunks).toEqual([]);
    expect(() => new AudioBacklog(0)).toThrow(RangeError);
  });
});
