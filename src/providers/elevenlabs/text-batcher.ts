/**
 * Cuts a model's token stream into the text messages the stream-input WebSocket wants: whole
 * words ending in one space (a word split across messages is spoken as two), sent as soon as they
 * are complete, with `flush` where the shared text chunker (src/providers/text-chunker.ts) cuts:
 * the first clause, then sentence ends, never after an abbreviation ("Dr.", "No. 5") or inside a
 * number. The flush makes the server speak the text so far without waiting for its chunk schedule
 * to fill, so the first clause is heard early, as with the offline engines.
 *
 * A word that may end a chunk ("there." before the next word arrived) is held back until the
 * chunker has decided, so its flush goes out with it; every other word goes out at once.
 */
import { TextChunker, type TextChunkerOptions } from '../text-chunker.ts';

export interface TextMessage {
  readonly text: string;
  readonly flush: boolean;
}

/**
 * ElevenLabs keeps the context across flushes, so a short first sentence ("Sure.", "Yes.") is worth
 * speaking at once; a lone letter or a bare line break is not. The length cap only bounds how long
 * text without any punctuation goes unflushed (words are sent as they come either way); a single
 * token longer than the cap is cut inside, as the chunker does.
 */
const DEFAULTS: TextChunkerOptions = { minFirstChunkChars: 3, maxChunkChars: 1000 };

export class TextBatcher {
  readonly #chunker: TextChunker;
  /** How much of the chunker's buffered text was already sent. */
  #sent = 0;
  /** A chunk ended inside text already sent (the length cap): flag the next message instead. */
  #flushNext = false;

  constructor(options: TextChunkerOptions = {}) {
    this.#chunker = new TextChunker({ ...DEFAULTS, ...options });
  }

  /** Messages ready to send after `piece` (possibly none). */
  push(piece: string): TextMessage[] {
    if (piece.length === 0) return [];
    const full = this.#chunker.buffered + piece;
    const chunks = this.#chunker.push(piece);
    const rest = this.#chunker.buffered;
    const out: TextMessage[] = [];
    let sent = this.#sent;
    if (chunks.length > 0) {
      // Chunks are trimmed slices of the buffer, in order: find where the last one ends.
      let end = 0;
      for (const c of chunks) end = full.indexOf(c, end) + c.length;
      this.#message(out, full.slice(sent, end), true);
      // Only whitespace lies between the last chunk and what the chunker kept.
      sent = Math.max(0, Math.max(sent, end) - (full.length - rest.length));
    }
    // Decided text: words followed by whitespace go now, without a flush.
    const decided = this.#chunker.decidedLength;
    let j = decided - 1;
    while (j >= sent && !/\s/u.test(rest[j] as string)) j--;
    if (j >= sent) {
      this.#message(out, rest.slice(sent, j), false);
      sent = j;
    }
    this.#sent = sent;
    return out;
  }

  /** What is left at the end of the text (never flagged: the end message flushes anyway). */
  end(): TextMessage[] {
    const rest = this.#chunker.buffered.slice(this.#sent);
    this.#chunker.end();
    this.#sent = 0;
    this.#flushNext = false;
    const out: TextMessage[] = [];
    const words = rest.split(/\s+/u).filter((w) => w !== '');
    if (words.length > 0) out.push({ text: `${words.join(' ')} `, flush: false });
    return out;
  }

  #message(out: TextMessage[], text: string, flush: boolean): void {
    const words = text.split(/\s+/u).filter((w) => w !== '');
    if (words.length === 0) {
      if (flush) this.#flushNext = true;
      return;
    }
    out.push({ text: `${words.join(' ')} `, flush: flush || this.#flushNext });
    this.#flushNext = false;
  }
}
