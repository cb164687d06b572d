import { describe, expect, it } from 'vitest';
import { normalizeWords, wordErrorRate } from '../../../src/providers/word-error-rate.ts';

describe('wordErrorRate', () => {
  it('compares lower-case words without punctuation', () => {
    expect(normalizeWords("Hello, World! It's 4567.")).toEqual(['hello', 'world', "it's", '4567']);
    expect(wordErrorRate('check my order', 'Check my order.')).toBe(0);
  });

  it('counts substitutions, insertions and deletions over the reference length', () => {
    expect(wordErrorRate('one two three four', 'one too three four')).toBe(0.25);
    expect(wordErrorRate('one two three four', 'one two three four five')).toBe(0.25);
    expect(wordErrorRate('one two three four', 'one three four')).toBe(0.25);
    expect(wordErrorRate('one two', 'three')).toBe(1);
    expect(wordErrorRate('', '')).toBe(0);
    expect(wordErrorRate('', 'noise')).toBe(1);
  });
});
