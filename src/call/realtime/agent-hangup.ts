/**
 * The hangUp system tool on a speech-to-speech call: the call ends once the model's last words have
 * played — when the call is next settled (nothing playing, nothing being generated or run: the model
 * usually says goodbye after the tool result) — or, if the model never settles, after a grace period
 * and whatever is playing then.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';

export interface AgentHangupOptions {
  readonly clock: Clock;
  readonly graceMs: number;
  /** Resolves when the audio queued so far has played. */
  readonly playedOut: () => Promise<void>;
  /** End the call now. Called at most once. */
  readonly hangup: (reason: string) => void;
}

export class AgentHangup {
  readonly #o: AgentHangupOptions;
  #reason: string | undefined;
  #timer: TimerHandle | undefined;
  #done = false;

  constructor(options: AgentHangupOptions) {
    this.#o = options;
  }

  /** Why the agent ended the call, once it asked to. */
  get reason(): string | undefined {
    return this.#reason;
  }

  request(reason: string | undefined): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason ?? 'the agent ended the call';
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#o.playedOut().then(() => this.#now());
    }, this.#o.graceMs);
  }

  /** The call is settled: a requested hang-up happens now. */
  settled(): void {
    if (this.#reason !== undefined) this.#now();
  }

  close(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#done = true;
  }

  #now(): void {
    if (this.#done || this.#reason === undefined) return;
    this.#done = true;
    this.close();
    this.#o.hangup(this.#reason);
  }
}
