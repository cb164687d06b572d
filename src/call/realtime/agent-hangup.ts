/**
 * The hangUp system tool on a speech-to-speech call: the call ends once the model's last words have
 * played — when the call is next settled (nothing playing, nothing being generated or run: the model
 * usually says goodbye after the tool result) — or, if the model never settles, after a grace period
 * and whatever is playing then. The BYE waits a short tail after the last packet left: the caller's jitter
 * buffer still holds the last words then, and a phone that gets the BYE drops them.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';

export interface AgentHangupOptions {
  readonly clock: Clock;
  readonly graceMs: number;
  /** Wait after the audio has left before hanging up. */
  readonly tailMs: number;
  /** Resolves when the audio queued so far has played. */
  readonly playedOut: () => Promise<void>;
  /** End the call now. Called at most once. */
  readonly hangup: (reason: string) => void;
}

export class AgentHangup {
  readonly #o: AgentHangupOptions;
  #reason: string | undefined;
  #timer: TimerHandle | undefined;
  #tail: TimerHandle | undefined;
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
    if (this.#tail !== undefined) this.#o.clock.clearTimeout(this.#tail);
    this.#timer = this.#tail = undefined;
    this.#done = true;
  }

  #now(): void {
    if (this.#done || this.#tail !== undefined || this.#reason === undefined) return;
    const reason = this.#reason;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#tail = this.#o.clock.setTimeout(() => {
      this.#tail = undefined;
      if (this.#done) return;
      this.#done = true;
      this.#o.hangup(reason);
    }, this.#o.tailMs);
  }
}
