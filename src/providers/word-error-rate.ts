/**
 * Word error rate, for comparing a recogniser's transcript with the words that were said. Lives in
 * src (not test/support) because the speech benchmark reports it too, and bench must not import test
 * code. Provider-neutral; nothing on the call path uses it.
 */

/** Lower-case words without punctuation, for comparing transcripts. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 0);
}

/** Word error rate of `hypothesis` against `reference` (word-level Levenshtein / reference length). */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  if (ref.length === 0) return hyp.length === 0 ? 0 : 1;
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return (prev[hyp.length] ?? 0) / ref.length;
}
