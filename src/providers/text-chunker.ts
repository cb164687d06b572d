/**
 * Cuts a model's token stream into speakable chunks for any TTS: the first chunk ends at the first
 * clause or sentence boundary (so audio starts early), later chunks at sentence boundaries (better
 * prosody; they are synthesized while earlier audio plays), with a length cap as a fallback.
 *
 * A boundary is punctuation followed by whitespace, which by itself keeps numbers ("3.14", "1,000"),
 * times ("10:30", "10.30"), URLs and e-mail addresses whole: their inner punctuation is never followed
 * by a space. A full stop is further not a sentence end after a known abbreviation ("Dr.", "e.g.",
 * "U.S.", "a.m."), after a single-letter initial ("J. Smith"), or when the next word starts in lower
 * case ("approx. five"). Abbreviations that are also ordinary words ("am", "no", "sun", "min"...) count
 * only when capitalised ("No. 5", "Mar. 3", "Acme Co. Ltd") or followed by a number ("no. 5"), so
 * "Yes I am. Then" ends a sentence. Since a token may end right after the punctuation, a candidate at
 * the end of the buffer waits for the next token (or the end of the stream) before it is decided.
 */
import { ABORTED, raceAbort } from '../core/abort.ts';
import { AbortedError } from '../core/errors.ts';

/** Tuning for {@link TextChunker}. */
export interface TextChunkerOptions {
  /** The first chunk is cut at a clause or sentence boundary once it has at least this many characters (default 12). */
  readonly minFirstChunkChars?: number;
  /** Later chunks are cut at sentence boundaries once they have at least this many characters (default 1). */
  readonly minSentenceChars?: number;
  /** Later chunks are cut at clause boundaries (, ; : dash) only from this length on (default 80). */
  readonly minClauseChars?: number;
  /** A chunk with no usable boundary is cut at the last space before this length (default 250). */
  readonly maxChunkChars?: number;
}

/**
 * Words that end with a full stop without ending a sentence. Lower case, without the final dot;
 * dotted forms ("e.g", "u.s") are caught by the dotted-acronym rule as well.
 */
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'mx', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'rev', 'hon', 'gen', 'col', 'capt', 'lt', 'sgt', 'cpl',
  'gov', 'sen', 'rep', 'pres', 'supt', 'messrs', 'mme', 'mlle',
  'nos', 'vs', 'etc', 'approx', 'appt', 'apt', 'ave', 'blvd', 'rd', 'ln', 'dept', 'figs', 'vol', 'vols',
  'inc', 'ltd', 'corp', 'bros', 'assn', 'intl', 'univ', 'ext', 'tel', 'ref', 'misc', 'cf', 'ca',
  'jan', 'feb', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'tue', 'tues', 'thu', 'thur', 'thurs', 'fri',
  'eg', 'ie', 'viz', 'oz', 'lb', 'lbs', 'pp', 'ch', 'sq', 'dist',
]);

/**
 * Abbreviations that are also everyday words or often end a sentence ("Yes I am.", "Say no.", "Wait
 * a sec.", "at 5 pm."): a full stop after one is a sentence end unless the word is capitalised
 * ("No. 5", "Mar. 3", "Sun. 10 am", "Acme Co. Ltd") or the next word is a number ("no. 5", "min. 10").
 */
const AMBIGUOUS_ABBREVIATIONS = new Set([
  'am', 'pm', 'no', 'sun', 'sat', 'mon', 'wed', 'mar', 'min', 'mins', 'max', 'sec', 'hr', 'hrs', 'yr', 'yrs',
  'est', 'co', 'al', 'fig',
]);

const SENTENCE_PUNCT = new Set(['.', '!', '?', '…', '。', '！', '？']);
const CLAUSE_PUNCT = new Set([',', ';', ':', '—', '–', '，', '；', '：']);
/** Closing marks that belong to the chunk before a boundary: `"Stop." He` cuts after the quote. */
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']', '}', '»', '*', '_']);

type BoundaryKind = 'sentence' | 'clause';

/** Outcome of looking at a punctuation mark: a boundary ending before `end`, none, or not yet known. */
type Decision = { kind: BoundaryKind; end: number } | { kind: 'none'; next: number } | { kind: 'wait' };

function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/u.test(c);
}

function isLower(c: string): boolean {
  return c !== c.toUpperCase() && c === c.toLowerCase();
}

/** The word before position `dot` (letters, digits and dots back to the previous space or opener). */
function wordBefore(text: string, dot: number): string {
  let i = dot;
  while (i > 0) {
    const c = text[i - 1] as string;
    if (isSpace(c) || c === '(' || c === '"' || c === '“' || c === '[' || c === "'") break;
    i--;
  }
  return text.slice(i, dot);
}

/**
 * Whether a full stop right after `word` is part of the word rather than a sentence end; `next` is
 * the first character of the following word (an ambiguous abbreviation needs it).
 */
function isAbbreviation(word: string, next: string): boolean {
  if (word.length === 0) return false;
  const lower = word.toLowerCase();
  if (ABBREVIATIONS.has(lower)) return true;
  if (AMBIGUOUS_ABBREVIATIONS.has(lower)) return /^\p{Lu}/u.test(word) || /^\p{Nd}/u.test(next);
  // Dotted acronyms and abbreviations: "e.g", "U.S", "a.m", "Ph.D".
  if (/^(?:\p{L}{1,2}\.)+\p{L}{1,2}$/u.test(word)) return true;
  // A single capital letter is an initial ("J. R. R. Tolkien"); "I." is too rare a sentence end to matter.
  if (/^\p{Lu}$/u.test(word)) return true;
  return false;
}

/**
 * Incremental, synchronous chunker: `push` text as it arrives and take the chunks it completes; `end`
 * returns the rest. Chunks are trimmed and never empty.
 */
export class TextChunker {
  readonly #minFirst: number;
  readonly #minSentence: number;
  readonly #minClause: number;
  readonly #max: number;
  #buf = '';
  /** Index in #buf up to which everything has been decided (no cut there). */
  #scanned = 0;
  /** End of the latest boundary that was too short to cut at (-1: none), for the length cap. */
  #lastBoundary = -1;
  #emitted = 0;

  constructor(options: TextChunkerOptions = {}) {
    this.#minFirst = Math.max(1, options.minFirstChunkChars ?? 12);
    this.#minSentence = Math.max(1, options.minSentenceChars ?? 1);
    this.#minClause = Math.max(1, options.minClauseChars ?? 80);
    this.#max = Math.max(this.#minFirst, options.maxChunkChars ?? 250);
  }

  /** Text pushed but not yet returned in a chunk, as given (untrimmed). */
  get buffered(): string {
    return this.#buf;
  }

  /**
   * Length of the start of `buffered` that is decided: no boundary inside it is still waiting for
   * more text (only the length cap can still cut there). A word wholly inside it can be sent on.
   */
  get decidedLength(): number {
    return this.#scanned;
  }

  /** Number of chunks returned so far. */
  get chunkCount(): number {
    return this.#emitted;
  }

  /** Add text; returns the chunks it completed (often none). */
  push(text: string): string[] {
    if (text.length === 0) return [];
    this.#buf += text;
    return this.#drain(false);
  }

  /** End of the stream: everything still buffered, as chunks. */
  end(): string[] {
    const out = this.#drain(true);
    const rest = this.#buf.trim();
    this.#buf = '';
    this.#scanned = 0;
    this.#lastBoundary = -1;
    if (rest.length > 0) {
      this.#emitted++;
      out.push(rest);
    }
    return out;
  }

  #drain(final: boolean): string[] {
    const out: string[] = [];
    for (;;) {
      const cut = this.#findCut(final);
      if (cut === undefined) break;
      const chunk = this.#buf.slice(0, cut).trim();
      this.#buf = this.#buf.slice(cut);
      this.#scanned = 0;
      this.#lastBoundary = -1;
      if (chunk.length > 0) {
        this.#emitted++;
        out.push(chunk);
      }
    }
    return out;
  }

  /** Where to cut the buffer now, or undefined to wait for more text. */
  #findCut(final: boolean): number | undefined {
    const buf = this.#buf;
    const first = this.#emitted === 0;
    let i = this.#scanned;
    while (i < buf.length) {
      const c = buf[i] as string;
      if (c === '\n' || SENTENCE_PUNCT.has(c) || CLAUSE_PUNCT.has(c)) {
        const d = this.#decide(i, final);
        if (d.kind === 'wait') break;
        if (d.kind === 'none') {
          i = d.next;
          this.#scanned = i;
          continue;
        }
        const length = buf.slice(0, d.end).trim().length;
        const min = first ? this.#minFirst : d.kind === 'sentence' ? this.#minSentence : this.#minClause;
        if (length > this.#max) return this.#fallbackCut();
        if (length >= min) return d.end;
        this.#lastBoundary = d.end;
        i = d.end;
        this.#scanned = i;
        continue;
      }
      i++;
      this.#scanned = i;
    }
    if (buf.trim().length > this.#max) return this.#fallbackCut();
    return undefined;
  }

  /** Cut an over-long buffer: at the latest boundary, else the last space before the cap, else at the cap. */
  #fallbackCut(): number {
    const buf = this.#buf;
    const lead = buf.length - buf.trimStart().length;
    const cap = lead + this.#max;
    if (this.#lastBoundary > lead && this.#lastBoundary <= cap) return this.#lastBoundary;
    for (let j = cap; j > lead; j--) if (isSpace(buf[j])) return j;
    return cap;
  }

  /** Classify the punctuation at `i`. */
  #decide(i: number, final: boolean): Decision {
    const buf = this.#buf;
    const c = buf[i] as string;
    if (c === '\n') return { kind: 'sentence', end: i + 1 };
    // A run of terminal marks ("?!", "...") and closing quotes/brackets is one boundary.
    let e = i + 1;
    while (e < buf.length && (SENTENCE_PUNCT.has(buf[e] as string) || CLAUSE_PUNCT.has(buf[e] as string) || CLOSERS.has(buf[e] as string))) e++;
    if (e >= buf.length) return final ? { kind: SENTENCE_PUNCT.has(c) ? 'sentence' : 'clause', end: e } : { kind: 'wait' };
    if (!isSpace(buf[e])) return { kind: 'none', next: e };
    const run = buf.slice(i, e);
    const sentence = [...run].some((ch) => SENTENCE_PUNCT.has(ch));
    if (!sentence) {
      // Dashes are clause marks only when spaced ("well — maybe"); "1–3" was caught above.
      return { kind: 'clause', end: e };
    }
    if (c === '.' && !run.startsWith('..')) {
      let k = e;
      while (k < buf.length && isSpace(buf[k])) k++;
      const word = wordBefore(buf, i);
      const ambiguous = AMBIGUOUS_ABBREVIATIONS.has(word.toLowerCase());
      if (!ambiguous && isAbbreviation(word, '')) return { kind: 'none', next: e };
      if (k >= buf.length) return final ? { kind: 'sentence', end: e } : { kind: 'wait' };
      // An ambiguous abbreviation is decided by the next word, so it waits for it like the rule below.
      if (ambiguous && isAbbreviation(word, buf[k] as string)) return { kind: 'none', next: e };
      // "approx. five", "10 a.m. tomorrow": a lower-case continuation is the same sentence.
      if (isLower(buf[k] as string)) return { kind: 'none', next: e };
    }
    return { kind: 'sentence', end: e };
  }
}

/**
 * Chunk an LLM token stream for TTS. Yields each chunk as soon as it is decided; aborting `signal`
 * ends the iteration with an AbortedError at once, even while the token stream is stalled (the source
 * is then told to stop through its `return()`, without waiting for it).
 */
export async function* chunkText(
  tokens: AsyncIterable<string>,
  options: TextChunkerOptions = {},
  signal?: AbortSignal,
): AsyncIterable<string> {
  const chunker = new TextChunker(options);
  if (signal?.aborted) throw new AbortedError();
  const it = tokens[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const r = await nextOrAbort(it, signal);
      if (r.done === true) break;
      for (const chunk of chunker.push(r.value)) yield chunk;
    }
    finished = true;
  } finally {
    // Stop the source if we leave early (abort, consumer break); a stalled source is not awaited.
    if (!finished) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
  for (const chunk of chunker.end()) yield chunk;
}

/** The iterator's next result, or AbortedError as soon as `signal` aborts. */
async function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal | undefined): Promise<IteratorResult<T>> {
  const r = await raceAbort(it.next(), signal);
  // A result that lands in the same tick as the abort is still an abort: the consumer asked to stop.
  if (r === ABORTED || signal?.aborted === true) throw new AbortedError();
  return r;
}
