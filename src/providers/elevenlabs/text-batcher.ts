/**
 * Cuts a model's token stream into the text messages the stream-input WebSocket wants: whole
 * words ending in one space (a word split across messages is spoken as two), with `flush` at a
 * sentence end so the first sentence is spoken without waiting for the chunk schedule to fill.
 */
export interface TextMessage {
  readonly text: string;
  readonly flush: boolean;
}

const SENTENCE_END = /[.!?;:…]["'”’)\]]*$/;

export class TextBatcher {
  #buf = '';

  /** Messages ready to send after `piece` (possibly none). */
  push(piece: string): TextMessage[] {
    this.#buf += piece;
    const m = /\s(?=\S*$)/.exec(this.#buf);
    if (m === null) return [];
    const head = this.#buf.slice(0, m.index).trim();
    this.#buf = this.#buf.slice(m.index + 1);
    if (head === '') return [];
    return [{ text: `${head.replace(/\s+/g, ' ')} `, flush: SENTENCE_END.test(head) }];
  }

  /** What is left at the end of the text (never flagged: the end message flushes anyway). */
  end(): TextMessage[] {
    const rest = this.#buf.trim();
    this.#buf = '';
    return rest === '' ? [] : [{ text: `${rest.replace(/\s+/g, ' ')} `, flush: false }];
  }
}
