import { describe, expect, it } from 'vitest';
import { AudioOutbox } from '../../../src/providers/audio-outbox.ts';

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('AudioOutbox', () => {
  it('copies what it is given (the media path reuses its buffers)', () => {
    const box = new AudioOutbox(100);
    const frame = bytes(10, 1);
    box.push(frame);
    frame.fill(9);
    expect([...(box.take(100) ?? [])]).toEqual(Array(10).fill(1));
  });

  it('drops the oldest whole chunks past its bound and counts the bytes', () => {
    const box = new AudioOutbox(25);
    expect(box.push(bytes(10, 1))).toBe(0);
    expect(box.push(bytes(10, 2))).toBe(0);
    expect(box.push(bytes(10, 3))).toBe(10);
    expect(box.bytes).toBe(20);
    expect(box.droppedBytes).toBe(10);
    expect([...(box.take(100) ?? [])]).toEqual([...Array(10).fill(2), ...Array(10).fill(3)]);
    expect(box.droppedBytes).toBe(10);
  });

  it('keeps only the newest part of a single chunk larger than the bound', () => {
    const box = new AudioOutbox(4);
    const big = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    expect(box.push(big)).toBe(2);
    expect([...(box.take(10) ?? [])]).toEqual([3, 4, 5, 6]);
  });

  it('take() joins whole chunks up to a size, at least one, in order', () => {
    const box = new AudioOutbox(1000);
    for (let i = 1; i <= 5; i++) box.push(bytes(10, i));
    expect([...(box.take(25) ?? [])]).toEqual([...Array(10).fill(1), ...Array(10).fill(2)]);
    expect(box.take(5)?.length).toBe(10);
    expect(box.bytes).toBe(20);
    expect(box.take(1000)?.length).toBe(20);
    expect(box.take(1000)).toBeUndefined();
  });

  it('stays flat over a long run of push/take', () => {
    const box = new AudioOutbox(320);
    for (let i = 0; i < 10_000; i++) {
      box.push(bytes(160, i & 0xff));
      if (i % 3 === 0) box.take(160);
    }
    expect(box.bytes).toBeLessThanOrEqual(320);
    expect(box.droppedBytes + box.bytes + Math.ceil(10_000 / 3) * 160).toBe(10_000 * 160);
  });

  it('refuses a bound that is not positive', () => {
    expect(() => new AudioOutbox(0)).toThrow(RangeError);
  });
});
