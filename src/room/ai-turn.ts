import { anySignal } from '../core/abort.ts';
import { BoundedChannel } from '../core/bounded-channel.ts';
import type { TurnOutcome } from './channel.ts';
import type { TurnTicket } from './turn-generation.ts';

/** Text deltas buffered ahead of a slow consumer before the model stream is paused. */
const TEXT_BUFFER = 4096;

/**
 * A user turn in progress, as the call session sees it: the reply text as a stream (for TTS), the
 * outcome, and abort (barge-in). The text stream ends as soon as the turn is aborted, while `done`
 * resolves only once every message the turn will commit is committed (uninterruptible tools included).
 */
export class AiTurn {
  readonly id: string;
  readonly #ticket: TurnTicket;
  readonly #text: BoundedChannel<string> | undefined;
  readonly done: Promise<TurnOutcome>;
  #resolve!: (outcome: TurnOutcome) => void;

  constructor(id: string, ticket: TurnTicket, streamText: boolean) {
    this.id = id;
    this.#ticket = ticket;
    this.#text = streamText ? new BoundedChannel<string>(TEXT_BUFFER, 'wait') : undefined;
    this.done = new Promise<TurnOutcome>((resolve) => {
      this.#resolve = resolve;
    });
    if (this.#text !== undefined) {
      const text = this.#text;
      // Barge-in: stop feeding TTS at once, and drop what is queued.
      ticket.signal.addEventListener(
        'abort',
        () => {
          text.clear();
          text.close();
        },
        { once: true },
      );
    }
  }

  /** The turn's generation in its room; later turns have larger numbers. */
  get generation(): number {
    return this.#ticket.generation;
  }

  /** Aborts on barge-in, on a newer turn, or with the caller's signal. */
  get signal(): AbortSignal {
    return this.#ticket.signal;
  }

  /** Reply text deltas, in order; ends when the turn ends or is aborted. Read it once. */
  get text(): AsyncIterable<string> {
    if (this.#text === undefined) throw new RangeError('this turn was started with streamText: false');
    return this.#text;
  }

  /** Abort the turn (barge-in). Idempotent. */
  abort(reason?: unknown): void {
    this.#ticket.abort(reason ?? 'barge-in');
  }

  /**
   * @internal Queue a text delta; waits while the consumer is behind, but never past an abort of the
   * turn or of `signal` (the tool loop's interruption: barge-in or its deadline). After such an abort
   * the delta is still queued if there is room, and dropped if the consumer is behind.
   */
  async pushText(delta: string, signal?: AbortSignal): Promise<void> {
    if (this.#text === undefined || this.#ticket.signal.aborted) return;
    // The loop's own signal ended (its deadline), not the turn: the text still lands if there is room, so
    // nothing is lost needlessly; it only stops waiting for room.
    if (signal?.aborted === true) {
      this.#text.push(delta);
      return;
    }
    try {
      await this.#text.send(delta, signal === undefined ? this.#ticket.signal : anySignal(this.#ticket.signal, signal));
    } catch {
      // Aborted or closed: the text is no longer wanted.
    }
  }

  /** @internal */
  finish(outcome: TurnOutcome): void {
    this.#text?.close();
    this.#resolve(outcome);
  }
}
