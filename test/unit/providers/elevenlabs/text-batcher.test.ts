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

  it('flushes where the shared text chunker cuts: first clause, sentence ends, not after abbreviations', () => {
    expect(run(['Sure, I can help you with that, ', 'let me check. Dr. Smith ', 'sees No. 5 at 3.', '30 today. Bye'])).toEqual([
      { text: 'Sure, ', flush: true },
      { text: 'I can help you with that, ', flush: false },
      { text: 'let me check. ', flush: true },
      { text: 'Dr. Smith ', flush: false },
      { text: 'sees No. 5 at ', flush: false },
      { text: '3.30 today. ', flush: true },
      { text: 'Bye ', flush: false },
    ]);
    expect(run(['Yes I am. ', 'Then more'])).toEqual([
      { text: 'Yes I ', flush: false },
      { text: 'am. ', flush: true },
      { text: 'Then ', flush: false },
      { text: 'more ', flush: false },
    ]);
  });

  it('holds a word that may end a sentence until the next word decides, then sends it with the flush', () => {
    const b = new TextBatcher();
    expect(b.push('Hello there. ')).toEqual([{ text: 'Hello ', flush: false }]);
    expect(b.push('How')).toEqual([{ text: 'there. ', flush: true }]);
    expect(b.push(' are')).toEqual([{ text: 'How ', flush: false }]);
    const a = new TextBatcher();
    expect(a.push('Ask for no. ')).toEqual([{ text: 'Ask for ', flush: false }]);
    expect(a.push('5 now')).toEqual([{ text: 'no. 5 ', flush: false }]);
    // A plain abbreviation is decided at once.
    expect(new TextBatcher().push('Please see approx. ')).toEqual([{ text: 'Please see approx. ', flush: false }]);
  });

  it('keeps every word of any split of a longer reply and flushes only at chunk ends', () => {
    const text = 'Sure, one moment. Your order No. 4567 ships on Mon. the 3rd, e.g. by 10 a.m. tomorrow. Anything else? Bye now.';
    const boundaries = ['Sure,', 'moment.', 'tomorrow.', 'else?'];
    const flushedAfter = (ms: TextMessage[]) => ms.filter((m) => m.flush).map((m) => m.text.trim().split(' ').at(-1));
    for (let cut = 0; cut <= text.length; cut++) {
      const out = run([text.slice(0, cut), text.slice(cut)]);
      expect(out.map((m) => m.text).join('').trim(), `cut ${cut}`).toBe(text);
      for (const w of flushedAfter(out)) expect(boundaries, `cut ${cut}`).toContain(w);
    }
    // Token by token (one character each), every chunk end is flushed.
    expect(flushedAfter(run([...text]))).toEqual(boundaries);
  });
});
