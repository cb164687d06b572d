import { describe, expect, it } from 'vitest';
import { heardLength, type SpokenChunk } from '../../../src/call/heard-text.ts';

const raw = 'Sure, let me check. Your order ships tomorrow morning. Anything else?';
function chunk(text: string, startMs: number, endMs: number, model = true): SpokenChunk {
  const rawStart = raw.indexOf(text);
  return { text, model, rawStart, rawEnd: rawStart + text.length, startMs, endMs, complete: true };
}
const chunks = [chunk('Sure, let me check.', 0, 1000), chunk('Your order ships tomorrow morning.', 1000, 3000), chunk('Anything else?', 3000, 4000)];

describe('heard text', () => {
  it('is everything when all played, nothing before the first word', () => {
    expect(raw.slice(0, heardLength(chunks, 4000))).toBe(raw);
    expect(heardLength(chunks, 0)).toBe(0);
  });

  it('counts whole chunks and the played share of the words of the chunk playing, cut at a word end', () => {
    expect(raw.slice(0, heardLength(chunks, 1000))).toBe('Sure, let me check.');
    // Half of the second chunk's audio: 2 of its 5 words.
    expect(raw.slice(0, heardLength(chunks, 2000))).toBe('Sure, let me check. Your order');
  });

  it('skips chunks that are not the model text (a filler), but their audio still takes time', () => {
    const withFiller = [chunks[0] as SpokenChunk, { ...chunk('One moment.', 1000, 2000, false), rawStart: 19, rawEnd: 19 }, { ...(chunks[1] as SpokenChunk), startMs: 2000, endMs: 4000 }];
    expect(raw.slice(0, heardLength(withFiller, 1900))).toBe('Sure, let me check.');
    expect(raw.slice(0, heardLength(withFiller, 4000))).toBe('Sure, let me check. Your order ships tomorrow morning.');
  });

  it('does not count a chunk whose synthesis had not finished as whole', () => {
    const partial = [chunks[0] as SpokenChunk, { ...(chunks[1] as SpokenChunk), endMs: 1500, complete: false }];
    // 500 ms written of a 34-character chunk (~2.2 s at 65 ms a character): about a fifth of its words.
    expect(raw.slice(0, heardLength(partial, 1500))).toBe('Sure, let me check. Your');
  });
});
