import { describe, expect, it } from 'vitest';
import { TextBatcher, type TextMessage } from '../../../../src/providers/elevenlabs/text-batcher.ts';

function run(pieces: string[]): TextMessage[] {
  const b = new TextBatcher();
  return [...pieces.flatMap((p) => b.push(p)), ...b.end()];
}

describe('TextBatcher', () => {
  it('sends whole words ending in one space, never a split word', () => {
    const out = run(['Hel', 'lo wor', 'ld, how', ' are', ' you']);
    expect(out.map((m) => m.text)).toEqual(['Hello ', 'world, ', 'how ', 'are ', 'you ']);
    for (const m of out) expect(m.text.endsWith(' ') && !m.text.endsWith('  ')).toBe(true);
  });

  it('flushes at sentence ends, including closing quotes', () => {
    expect(run(['Done. Next', ' one? "Yes." And'])).toEqual([
      { text: 'Done. ', flush: true },
      { text: 'Next one? "Yes." ', flush: true },
      { text: 'And ', flush: false },
    ]);
  });

  it('collapses whitespace runs and drops whitespace-only input', () => {
    expect(run(['  ', '\n', 'a\n\nb  c'])).toEqual([
      { text: 'a b ', flush: false },
      { text: 'c ', flush: false },
    ]);
    expect(run(['', '   '])).toEqual([]);
  });

  it('keeps every word of any split of a sentence, in order', () => {
    const text = 'The order 4567 ships on Monday. Anything else?';
    for (let cut = 0; cut <= text.length; cut++) {
      const joined = run([text.slice(0, cut), text.slice(cut)]).map((m) => m.text).join('');
      expect(joined.trim(), `cut ${cut}`).toBe(text);
    }
  });
});
