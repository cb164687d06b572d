/**
 * Silence while a tool runs is what callers notice most: when a tool call runs past `afterMs`, the agent
 * says a short filler ("One moment while I check that."), at most once per turn, and never while the caller
 * is talking. The filler is spoken, not written into the model's history.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';

export interface ToolFillerOptions {
  readonly fillers: readonly string[];
  readonly afterMs: number;
  readonly clock: Clock;
  /** Whether speaking now would talk over the caller. */
  readonly callerSpeaking: () => boolean;
  readonly say: (text: string) => void;
}

export class ToolFiller {
  readonly #o: ToolFillerOptions;
  readonly #running = new Set<string>();
  #timer: TimerHandle | undefined;
  #said = false;
  #next = 0;

  constructor(options: ToolFillerOptions) {
    this.#o = options;
  }

  /** A new turn: one filler allowed again. */
  newTurn(): void {
    this.#said = false;
    this.#running.clear();
    this.#cancel();
  }

  started(toolCallId: string): void {
    this.#running.add(toolCallId);
    if (this.#said || this.#timer !== undefined || this.#o.fillers.length === 0) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#running.size === 0 || this.#said || this.#o.callerSpeaking()) return;
      this.#said = true;
      const text = this.#o.fillers[this.#next % this.#o.fillers.length] as string;
      this.#next++;
      this.#o.say(text);
    }, this.#o.afterMs);
  }

  finished(toolCallId: string): void {
    this.#running.delete(toolCallId);
    if (this.#running.size === 0) this.#cancel();
  }

  close(): void {
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
