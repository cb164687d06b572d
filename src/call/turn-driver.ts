/**
 * Runs the turn-taking reducer on the call clock: feeds it inputs, keeps one timer for its earliest due
 * time, and hands every action it returns to the session. The reducer decides; this only schedules.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { initialTurnState, nextDue, stepTurn, type TurnAction, type TurnInput, type TurnTakingSettings, type TurnTakingState } from './turn-taking.ts';

export class TurnDriver {
  readonly #settings: TurnTakingSettings;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #act: (action: TurnAction) => void;
  #state: TurnTakingState = initialTurnState();
  #timer: TimerHandle | undefined;
  #timerDue = Infinity;
  #closed = false;

  constructor(settings: TurnTakingSettings, clock: Clock, logger: Logger, act: (action: TurnAction) => void) {
    this.#settings = settings;
    this.#clock = clock;
    this.#logger = logger;
    this.#act = act;
  }

  get state(): TurnTakingState {
    return this.#state;
  }

  input(input: TurnInput): void {
    if (this.#closed) return;
    const step = stepTurn(this.#state, input, this.#clock.now(), this.#settings);
    this.#state = step.state;
    for (const action of step.actions) {
      try {
        this.#act(action);
      } catch (err) {
        this.#logger.warn({ err, action: action.type }, 'turn action failed');
      }
    }
    this.#schedule();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const due = nextDue(this.#state);
    if (due === this.#timerDue) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = due ?? Infinity;
    if (due === undefined) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.input({ type: 'tick' });
    }, Math.max(0, due - this.#clock.now()));
  }
}
