/**
 * The model's turns as the session reports them. Gemini gives no ids for responses or items, so one
 * `gemini-resp-N` / `gemini-item-N` pair is made up per model turn. A turn starts with its first
 * content and ends at `turnComplete`, `interrupted`, a local cancel, or a lost socket.
 * Transcripts arrive as pieces: they are passed on as deltas, and the whole text once more as a
 * final when the turn ends (assistant) or when the model starts answering (caller).
 */
import type { Logger } from '../../core/logger.ts';
import type { RealtimeEvent } from '../types.ts';

export interface ModelTurn {
  readonly responseId: string;
  readonly itemId: string;
  /** Cancelled here: the rest of its output is dropped, and its end was already reported. */
  cancelled: boolean;
  text: string;
}

export class ModelTurns {
  readonly #emit: (event: RealtimeEvent) => void;
  readonly #transcription: boolean;
  readonly #logger: Logger;
  #turn: ModelTurn | undefined;
  #seq = 0;
  #userText = '';

  constructor(emit: (event: RealtimeEvent) => void, transcription: boolean, logger: Logger) {
    this.#emit = emit;
    this.#transcription = transcription;
    this.#logger = logger;
  }

  get current(): ModelTurn | undefined {
    return this.#turn;
  }

  /** The turn in progress, starting one if none is (which closes the caller's transcript). */
  ensure(): ModelTurn {
    if (this.#turn !== undefined) return this.#turn;
    this.#flushUser();
    const n = ++this.#seq;
    this.#turn = { responseId: `gemini-resp-${n}`, itemId: `gemini-item-${n}`, cancelled: false, text: '' };
    return this.#turn;
  }

  transcript(role: 'user' | 'assistant', text: string, finished: boolean): void {
    if (!this.#transcription) return;
    if (role === 'user') {
      if (text !== '') {
        this.#userText += text;
        this.#emit({ type: 'transcript', role, text, final: false });
      }
      if (finished) this.#flushUser();
      return;
    }
    const turn = this.ensure();
    if (turn.cancelled || text === '') return;
    turn.text += text;
    this.#emit({ type: 'transcript', role, text, final: false, itemId: turn.itemId });
  }

  /** Cancel the turn in progress here: reported done ('cancelled') now. False if there was none. */
  cancel(): boolean {
    const turn = this.#turn;
    if (turn === undefined || turn.cancelled) return false;
    turn.cancelled = true;
    this.#emit({ type: 'response_done', responseId: turn.responseId, status: 'cancelled' });
    return true;
  }

  /** End the turn in progress (nothing to report for one already cancelled). */
  end(status: 'completed' | 'interrupted' | 'incomplete'): void {
    const turn = this.#turn;
    this.#turn = undefined;
    if (turn === undefined || turn.cancelled) return;
    if (turn.text !== '' && this.#transcription) {
      this.#logger.debug({ role: 'assistant', transcript: turn.text }, 'gemini-live: transcript');
      this.#emit({ type: 'transcript', role: 'assistant', text: turn.text, final: true, itemId: turn.itemId });
    }
    if (status === 'interrupted') this.#emit({ type: 'interrupted', responseId: turn.responseId });
    this.#emit({ type: 'response_done', responseId: turn.responseId, status });
  }

  #flushUser(): void {
    if (this.#userText === '') return;
    const text = this.#userText;
    this.#userText = '';
    this.#logger.debug({ role: 'user', transcript: text }, 'gemini-live: transcript');
    this.#emit({ type: 'transcript', role: 'user', text, final: true });
  }
}
