import { describe, expect, it } from 'vitest';
import { PcmAssembler } from '../../../../src/providers/elevenlabs/pcm-assembler.ts';

function bytesOf(samples: number[]): Uint8Array {
  const pcm = Int16Array.from(samples);
  return new Uint8Array(pcm.buffer);
}

describe('PcmAssembler', () => {
  const samples = [0, 1, -1, 32767, -32768, 258, -258, 12345];
  const bytes = bytesOf(samples);

  it('gives the same samples for every split of the stream into two chunks', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const a = new PcmAssembler();
      const out = [...a.push(bytes.subarray(0, cut)), ...a.push(bytes.subarray(cut))];
      expect(out, `cut at ${cut}`).toEqual(samples);
      expect(a.pending).toBe(false);
    }
  });

  it('handles one-byte chunks and unaligned views', () => {
    const a = new PcmAssembler();
    const out: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const backing = new Uint8Array(3);
      backing[1] = bytes[i]!;
      out.push(...a.push(backing.subarray(1, 2)));
    }
    expect(out).toEqual(samples);
  });

  it('reports a dangling odd byte', () => {
    const a = new PcmAssembler();
    expect([...a.push(new Uint8Array([1, 0, 7]))]).toEqual([1]);
    expect(a.pending).toBe(true);
    expect([...a.push(new Uint8Array(0))]).toEqual([]);
    expect([...a.push(new Uint8Array([0]))]).toEqual([7]);
    expect(a.pending).toBe(false);
  });
});
