/**
 * The text side of one reply: the model's streamed text cut into speakable chunks (the shared text chunker),
 * each with its place in the raw text, plus chunks the session interjects (a filler while a tool runs).
 * The chunker holds a sentence's last word until more text comes; a pause in the stream (`idleFlushMs`, a
 * tool call, or an explicit `flush()`) releases it, so nothing waits unspoken while the model is busy.
 */
import { BoundedChannel } from '../core/bounded-channel.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { TextChunker, type TextChunkerOptions } from '../providers/text-chunker.ts';

export interface ReplyChunk {
  readonly text: string;
  readonly model: boolean;
  readonly rawStart: number;
  readonly rawEnd: number;
}

export class ReplyText {
  readonly chunks = new BoundedChannel<ReplyChunk>(1024, 'wait');
  readonly #chunker: TextChunker;
  readonly #clock: Clock;
  readonly #idleFlushMs: number;
  #raw = '';
  #rawPos = 0;
  #idle: TimerHandle | undefined;
  #ended = false;

  constructor(options: { chunker?: TextChunkerOptions; clock: Clock; idleFlushMs?: number }) {
    this.#chunker = new TextChunker(options.chunker ?? {});
    this.#clock = options.clock;
    this.#idleFlushMs = options.idleFlushMs ?? 250;
  }

  /** All of the model's text so far. */
  get raw(): string {
    return this.#raw;
  }

  /** Read the model's text to its end (or until `signal` aborts), then close the chunk stream. */
  async feed(text: AsyncIterable<string>, signal: AbortSignal): Promise<void> {
    try {
      for await (const delta of text) {
        if (signal.aborted || this.#ended) break;
        this.#raw += delta;
        this.#emit(this.#chunker.push(delta));
        this.#armIdle();
      }
    } catch {
      // A failed or aborted model stream ends the reply's text here; what was said stands.
    }
    this.end(!signal.aborted);
  }

  /** Speak a chunk that is not the model's (a filler): it goes out after the chunks already cut. */
  interject(text: string): void {
    if (this.#ended) return;
    void this.chunks.send({ text, model: false, rawStart: this.#rawPos, rawEnd: this.#rawPos }).catch(() => undefined);
  }

  /** Release text the chunker holds back (the model paused: a tool call, a slow token). */
  flush(): void {
    if (this.#ended) return;
    this.#emit(this.#chunker.end());
  }

  /** No more text: speak what is held (when `speakRest`) and close. */
  end(speakRest = true): void {
    if (this.#ended) return;
    if (speakRest) this.#emit(this.#chunker.end());
    this.#ended = true;
    if (this.#idle !== undefined) this.#clock.clearTimeout(this.#idle);
    this.chunks.close();
  }

  #armIdle(): void {
    if (this.#idle !== undefined) this.#clock.clearTimeout(this.#idle);
    if (this.#chunker.buffered.trim() === '') return;
    this.#idle = this.#clock.setTimeout(() => {
      this.#idle = undefined;
      this.flush();
    }, this.#idleFlushMs);
  }

  #emit(chunks: readonly string[]): void {
    for (const text of chunks) {
      const start = this.#raw.indexOf(text, this.#rawPos);
      const rawStart = start < 0 ? this.#rawPos : start;
      const rawEnd = start < 0 ? this.#rawPos : start + text.length;
      this.#rawPos = rawEnd;
      void this.chunks.send({ text, model: true, rawStart, rawEnd }).catch(() => undefined);
    }
  }
}
