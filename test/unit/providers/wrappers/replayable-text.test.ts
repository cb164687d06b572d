import { describe, expect, it } from 'vitest';
import { ReplayableText } from '../../../../src/providers/wrappers/replayable-text.ts';
import { drain } from './fakes.ts';

describe('ReplayableText', () => {
  it('replays what was read to a new reader, then continues the source once', async () => {
    let pulls = 0;
    async function* src(): AsyncGenerator<string> {
      for (const w of ['a ', 'b ', 'c ']) {
        pulls++;
        yield w;
      }
    }
    const t = new ReplayableText(src());
    const first = t.reader()[Symbol.asyncIterator]();
    expect((await first.next()).value).toBe('a ');
    await first.return?.();
    expect(await drain(t.reader())).toEqual(['a ', 'b ', 'c ']);
    expect(await drain(t.reader())).toEqual(['a ', 'b ', 'c ']);
    expect(pulls).toBe(3);
  });

  it('close() ends the source', async () => {
    let finished = false;
    async function* src(): AsyncGenerator<string> {
      try {
        yield 'x';
        yield 'y';
      } finally {
        finished = true;
      }
    }
    const t = new ReplayableText(src());
    await t.reader()[Symbol.asyncIterator]().next();
    t.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(finished).toBe(true);
    expect(await drain(t.reader())).toEqual(['x']);
  });
});
