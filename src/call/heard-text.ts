/**
 * What the caller heard of a reply, from where its audio stands: each chunk of text has the span of
 * written audio it became; the caller heard the chunks that played out whole and, of the chunk playing
 * when the reply stopped, the share of its words that fits the share of its audio that played.
 */

/** One chunk of a reply: its text, where it sits in the model's raw text, and its audio span. */
export interface SpokenChunk {
  readonly text: string;
  /** The chunk came from the model (not a filler or a notice): it maps to `[rawStart, rawEnd)` of the model's text. */
  readonly model: boolean;
  readonly rawStart: number;
  readonly rawEnd: number;
  /** Audio of this chunk, ms from the reply's first written audio. */
  startMs: number;
  endMs: number;
  /** All of its audio has been written (its synthesis finished). */
  complete: boolean;
}

/** A rough speaking rate (14-16 characters a second), for chunks whose audio is not all there yet. */
const MS_PER_CHAR = 65;

/** Length of the model text (a prefix of it) the caller heard, given `playedMs` of the reply's audio. */
export function heardLength(chunks: readonly SpokenChunk[], playedMs: number): number {
  let heard = 0;
  for (const c of chunks) {
    if (!c.model) continue;
    if (c.endMs <= playedMs && c.complete && c.endMs > c.startMs) {
      heard = c.rawEnd;
      continue;
    }
    if (playedMs <= c.startMs || c.endMs <= c.startMs) break;
    // Partly played: the same share of its words, cut at a word end. A chunk still being synthesized has
    // an unknown length: estimate it from its text (about 65 ms a character) so it is not counted whole.
    const total = c.complete ? c.endMs - c.startMs : Math.max(c.endMs - c.startMs, c.text.length * MS_PER_CHAR);
    const share = Math.min(1, (playedMs - c.startMs) / total);
    const words = c.text.split(/\s+/).filter((w) => w.length > 0);
    const keep = Math.floor(words.length * share + 1e-9);
    if (keep > 0) heard = c.rawStart + wordEnd(c.text, keep);
    break;
  }
  return heard;
}

/** Character index just after the `n`-th word of `text`. */
function wordEnd(text: string, n: number): number {
  let count = 0;
  const re = /\S+/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    count++;
    if (count === n) return m.index + m[0].length;
  }
  return text.length;
}
