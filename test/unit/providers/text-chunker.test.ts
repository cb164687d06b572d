import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../../src/core/errors.ts';
import { chunkText, TextChunker, type TextChunkerOptions } from '../../../src/providers/text-chunker.ts';

/** Run the chunker over `text` split into the given pieces. */
function chunksOf(pieces: readonly string[], options?: TextChunkerOptions): string[] {
  const c = new TextChunker(options);
  const out: string[] = [];
  for (const p of pieces) out.push(...c.push(p));
  out.push(...c.end());
  return out;
}

/** Every split of `text` at every character offset gives the same chunks as the whole text. */
function expectSplitInvariant(text: string, options?: TextChunkerOptions): string[] {
  const whole = chunksOf([text], options);
  for (let i = 1; i < text.length; i++) {
    expect(chunksOf([text.slice(0, i), text.slice(i)], options), `split at ${i}`).toEqual(whole);
  }
  expect(chunksOf([...text], options), 'one character per token').toEqual(whole);
  return whole;
}

const words = (s: string): string => s.replace(/\s+/g, ' ').trim();

describe('TextChunker boundaries', () => {
  it('cuts the first chunk at the first clause once it is long enough, later chunks at sentences', () => {
    const text = 'Sure, I can help you with that, let me look it up. Your order shipped yesterday, and it should arrive on Friday. Anything else?';
    const chunks = expectSplitInvariant(text);
    expect(chunks).toEqual([
      'Sure, I can help you with that,',
      'let me look it up.',
      'Your order shipped yesterday, and it should arrive on Friday.',
      'Anything else?',
    ]);
  });

  it('does not cut a first clause shorter than minFirstChunkChars', () => {
    expect(chunksOf(['Yes, it is. Thanks.'], { minFirstChunkChars: 12 })).toEqual(['Yes, it is. Thanks.']);
    expect(chunksOf(['Yes, it is. Thanks.'], { minFirstChunkChars: 4 })).toEqual(['Yes,', 'it is.', 'Thanks.']);
  });

  it('never cuts inside numbers, decimals, thousands or times', () => {
    const text = 'The total is 3.14 dollars for 1,000 items at 10:30 or 10.30 tonight, version 2.0.1 included. Done now.';
    const chunks = expectSplitInvariant(text, { minFirstChunkChars: 1 });
    expect(chunks).toEqual([
      'The total is 3.14 dollars for 1,000 items at 10:30 or 10.30 tonight,',
      'version 2.0.1 included.',
      'Done now.',
    ]);
  });

  it('waits for the next token before deciding on a number split across tokens', () => {
    const c = new TextChunker({ minFirstChunkChars: 1 });
    expect(c.push('It costs 3.')).toEqual([]);
    expect(c.push('14 dollars.')).toEqual([]);
    expect(c.push(' Next')).toEqual(['It costs 3.14 dollars.']);
    expect(c.end()).toEqual(['Next']);
  });

  it('never cuts after abbreviations, initials and dotted acronyms', () => {
    const text =
      'Dr. Smith and Mrs. Jones met J. R. R. Tolkien in the U.S. capital at 9 a.m. yesterday, e.g. on Main St. near No. 5 Ave. today. It went well.';
    const chunks = expectSplitInvariant(text, { minFirstChunkChars: 1, minClauseChars: 1000 });
    expect(chunks).toEqual([
      'Dr. Smith and Mrs. Jones met J. R. R. Tolkien in the U.S. capital at 9 a.m. yesterday,',
      'e.g. on Main St. near No. 5 Ave. today.',
      'It went well.',
    ]);
  });

  it('ends a sentence after ordinary words that are also abbreviations, unless capitalised or before a number', () => {
    const o = { minFirstChunkChars: 1 };
    expect(expectSplitInvariant('Yes I am. Then we go.', o)).toEqual(['Yes I am.', 'Then we go.']);
    expect(chunksOf(['Just say no. Then leave.'], o)).toEqual(['Just say no.', 'Then leave.']);
    expect(chunksOf(['We sat in the sun. It was warm.'], o)).toEqual(['We sat in the sun.', 'It was warm.']);
    expect(chunksOf(['Give me a sec. Wait a min. Okay.'], o)).toEqual(['Give me a sec.', 'Wait a min.', 'Okay.']);
    expect(chunksOf(['See you at 5 pm. Bye.'], o)).toEqual(['See you at 5 pm.', 'Bye.']);
    // Capitalised, or followed by a number, they stay abbreviations.
    expect(expectSplitInvariant('Order No. 5 shipped on Mar. 3 via Acme Co. Ltd and no. 7 follows. Done.', o)).toEqual([
      'Order No. 5 shipped on Mar. 3 via Acme Co. Ltd and no. 7 follows.',
      'Done.',
    ]);
    expect(chunksOf(['Open until min. 10 today. Bye.'], o)).toEqual(['Open until min. 10 today.', 'Bye.']);
  });

  it('waits for the next word before deciding on an ambiguous abbreviation', () => {
    const c = new TextChunker({ minFirstChunkChars: 1 });
    expect(c.push('Yes I am. ')).toEqual([]);
    expect(c.push('Then')).toEqual(['Yes I am.']);
    const n = new TextChunker({ minFirstChunkChars: 1 });
    expect(n.push('Ask for no. ')).toEqual([]);
    expect(n.push('5 now.')).toEqual([]);
    expect(n.end()).toEqual(['Ask for no. 5 now.']);
  });

  it('does not end a sentence when the next word is lower case', () => {
    expect(chunksOf(['It weighs approx. five kilos. Then more.'], { minFirstChunkChars: 1 })).toEqual([
      'It weighs approx. five kilos.',
      'Then more.',
    ]);
    expect(chunksOf(['Call the desk. then ask for Bob. Done.'], { minFirstChunkChars: 1 })).toEqual([
      'Call the desk. then ask for Bob.',
      'Done.',
    ]);
  });

  it('keeps URLs and e-mail addresses whole, but ends the sentence after them', () => {
    const text =
      'Visit https://example.com/a.b?x=1,2&y=3:4 or write to john.doe@mail.example.org. We answer fast. See www.example.co.uk, too.';
    const chunks = expectSplitInvariant(text, { minFirstChunkChars: 1, minClauseChars: 1000 });
    expect(chunks).toEqual([
      'Visit https://example.com/a.b?x=1,2&y=3:4 or write to john.doe@mail.example.org.',
      'We answer fast.',
      'See www.example.co.uk, too.',
    ]);
  });

  it('handles ?, !, ellipses, closing quotes and brackets', () => {
    const text = 'Really?! He said "stop." Then (quietly.) She left... Okay… Fine!';
    const chunks = expectSplitInvariant(text, { minFirstChunkChars: 1 });
    expect(chunks).toEqual(['Really?!', 'He said "stop."', 'Then (quietly.)', 'She left...', 'Okay…', 'Fine!']);
  });

  it('treats newlines as boundaries and spaced dashes as clauses, unspaced ranges not', () => {
    const chunks = chunksOf(['Pages 1–3 are fine — mostly\nNext line here'], { minFirstChunkChars: 1 });
    expect(chunks).toEqual(['Pages 1–3 are fine —', 'mostly', 'Next line here']);
  });

  it('cuts later chunks at clauses only from minClauseChars on', () => {
    const long = 'First part is here. ' + 'Then a rather long clause that goes on and on, and another one after it, and the end.';
    expect(chunksOf([long], { minClauseChars: 20 })).toEqual([
      'First part is here.',
      'Then a rather long clause that goes on and on,',
      'and another one after it,',
      'and the end.',
    ]);
    expect(chunksOf([long], { minClauseChars: 500 })).toEqual([
      'First part is here.',
      'Then a rather long clause that goes on and on, and another one after it, and the end.',
    ]);
  });

  it('falls back to a cut at the last space before maxChunkChars when there is no boundary', () => {
    const text = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const chunks = expectSplitInvariant(text, { maxChunkChars: 50 });
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(50);
    expect(chunks.length).toBeGreaterThan(1);
    expect(words(chunks.join(' '))).toBe(text);
    // No word was cut in half.
    for (const c of chunks) for (const w of c.split(' ')) expect(w).toMatch(/^word\d+$/);
  });

  it('prefers a too-short earlier boundary over a space when the cap is hit', () => {
    const chunks = chunksOf(['Hi, ' + 'x'.repeat(10) + ' ' + 'y'.repeat(60)], { maxChunkChars: 40, minFirstChunkChars: 30 });
    expect(chunks[0]).toBe('Hi,');
  });

  it('hard-cuts a single over-long token at the cap', () => {
    const chunks = chunksOf(['z'.repeat(95)], { maxChunkChars: 40 });
    expect(chunks).toEqual(['z'.repeat(40), 'z'.repeat(40), 'z'.repeat(15)]);
  });

  it('returns nothing for empty and whitespace-only input, and trims chunks', () => {
    expect(chunksOf([])).toEqual([]);
    expect(chunksOf(['', '   ', '\n'])).toEqual([]);
    expect(chunksOf(['   Hello there, friend.   '], { minFirstChunkChars: 1 })).toEqual(['Hello there,', 'friend.']);
  });

  it('keeps every non-space character, in order, for arbitrary text and token splits', () => {
    const alphabet = fc.constantFrom(...'ab Z.,;:!?0 9\n-—"()e.g.Dr. www.x.com 3.14 '.split(''));
    fc.assert(
      fc.property(fc.array(fc.array(alphabet, { maxLength: 8 }).map((a) => a.join('')), { maxLength: 40 }), (tokens) => {
        const chunks = chunksOf(tokens, { maxChunkChars: 30, minFirstChunkChars: 3 });
        expect(chunks.join('').replace(/\s+/g, '')).toBe(tokens.join('').replace(/\s+/g, ''));
        for (const c of chunks) {
          expect(c.length).toBeGreaterThan(0);
          expect(c).toBe(c.trim());
          expect(c.length).toBeLessThanOrEqual(30);
        }
      }),
    );
  });
});

describe('chunkText (AsyncIterable)', () => {
  async function* tokens(list: readonly string[], onYield?: (i: number) => void): AsyncIterable<string> {
    for (let i = 0; i < list.length; i++) {
      await Promise.resolve();
      onYield?.(i);
      yield list[i] as string;
    }
  }

  it('yields the first chunk as soon as its boundary is decided, before the stream ends', async () => {
    const list = ['Sure', ',', ' I can', ' help you', ' with that', ',', ' let', ' me', ' check', '.'];
    let lastYielded = -1;
    const seen: Array<{ chunk: string; afterToken: number }> = [];
    for await (const chunk of chunkText(tokens(list, (i) => (lastYielded = i)))) seen.push({ chunk, afterToken: lastYielded });
    expect(seen.map((s) => s.chunk)).toEqual(['Sure, I can help you with that,', 'let me check.']);
    // The comma after "with that" is decided by the following " let" token (index 6).
    expect(seen[0]?.afterToken).toBe(6);
  });

  it('stops with AbortedError when the signal aborts', async () => {
    const ac = new AbortController();
    const out: string[] = [];
    const run = (async () => {
      for await (const c of chunkText(tokens(['One thing here. ', 'Two things here. ', 'Three. ', 'Four.']), {}, ac.signal)) {
        out.push(c);
        ac.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    expect(out).toEqual(['One thing here.']);
  });

  it('aborts promptly while the token stream is stalled, and tells the source to stop', async () => {
    let returned = false;
    const stalled: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => ({
        next: (() => {
          let n = 0;
          return () => (n++ === 0 ? Promise.resolve({ value: 'Hello there, my friend.', done: false }) : new Promise<IteratorResult<string>>(() => undefined));
        })(),
        return: async () => {
          returned = true;
          return { value: undefined, done: true };
        },
      }),
    };
    const ac = new AbortController();
    const out: string[] = [];
    setTimeout(() => ac.abort(), 20);
    await expect(
      (async () => {
        for await (const c of chunkText(stalled, {}, ac.signal)) out.push(c);
      })(),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(returned).toBe(true);
    // The first clause was out before the stall; the rest never completed.
    expect(out).toEqual(['Hello there,']);
  });

  it('rejects at once for an already-aborted signal', async () => {
    const it = chunkText(tokens(['Hello.']), {}, AbortSignal.abort())[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toBeInstanceOf(AbortedError);
  });
});
