/**
 * Turn generations: the guard that keeps a tool call from an aborted or superseded turn from acting.
 *
 * Each model turn in a room takes a {@link TurnTicket} from the room's {@link TurnGeneration}. Starting
 * a new turn, or aborting this one (barge-in), makes the ticket stale. A side-effecting tool (hang up,
 * transfer, send SMS) performs its effect through `ctx.turn.act(effect)`, which checks liveness and runs
 * the effect synchronously in the same tick: there is no await between the check and the action, so a
 * stale `hangUp` can never end the conversation that replaced the turn it came from.
 */

/**
 * Why a guard refuses to act: its turn was aborted or superseded, or (for one tool call's guard) that
 * call was dropped because it timed out or was cancelled, so its result was already given up on.
 */
export type StaleReason = 'aborted' | 'superseded' | 'timeout' | 'cancelled';

export type ActResult<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false; readonly reason: StaleReason };

/** What a tool sees of its turn. */
export interface TurnGuard {
  /** Monotonic per room; later turns have larger numbers. */
  readonly generation: number;
  /** True while the turn is the room's current one and has not been aborted. */
  isLive(): boolean;
  /** Run `effect` only if the turn is live, synchronously; otherwise return why not. */
  act<T>(effect: () => T): ActResult<T>;
}

/** One turn's ticket: its abort controller, liveness, and its place in the room's turn order. */
export class TurnTicket implements TurnGuard {
  readonly generation: number;
  readonly #owner: TurnGeneration;
  readonly #controller = new AbortController();
  /** Removes the listener on the caller's signal once the turn settles (long-lived call signals). */
  readonly #detach = new AbortController();
  readonly #previous: Promise<void>;
  #settle!: () => void;
  readonly #settled: Promise<void>;

  constructor(owner: TurnGeneration, generation: number, previous: Promise<void>, parent?: AbortSignal) {
    this.#owner = owner;
    this.generation = generation;
    this.#previous = previous;
    this.#settled = new Promise<void>((resolve) => {
      this.#settle = resolve;
    });
    if (parent !== undefined) {
      if (parent.aborted) this.#controller.abort(parent.reason);
      else parent.addEventListener('abort', () => this.#controller.abort(parent.reason), { once: true, signal: this.#detach.signal });
    }
  }

  /** Aborts on barge-in, on supersession, or when the caller's signal aborts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  isLive(): boolean {
    return !this.#controller.signal.aborted && this.#owner.current === this.generation;
  }

  staleReason(): StaleReason | undefined {
    // Superseded first: a newer turn aborts this one too, and "superseded" says more.
    if (this.#owner.current !== this.generation) return 'superseded';
    if (this.#controller.signal.aborted) return 'aborted';
    return undefined;
  }

  act<T>(effect: () => T): ActResult<T> {
    const reason = this.staleReason();
    if (reason !== undefined) return { done: false, reason };
    return { done: true, value: effect() };
  }

  /** Abort this turn (barge-in). Idempotent. */
  abort(reason?: unknown): void {
    this.#controller.abort(reason ?? 'turn aborted');
  }

  /** Resolves when the previous turn has committed everything it will commit (its uninterruptible tools). */
  previousSettled(): Promise<void> {
    return this.#previous;
  }

  /** Mark this turn as settled: history writes from it are finished. Idempotent. */
  settle(): void {
    this.#detach.abort();
    this.#settle();
  }

  /** Resolves once {@link settle} was called. */
  settled(): Promise<void> {
    return this.#settled;
  }
}

/**
 * The turn counter of one room (or one agent run). `begin` supersedes and aborts the current turn;
 * the new ticket can wait for the old turn to settle before it reads history.
 */
export class TurnGeneration {
  #current = 0;
  #ticket: TurnTicket | undefined;

  get current(): number {
    return this.#current;
  }

  /** The live-or-last ticket, if any. */
  get ticket(): TurnTicket | undefined {
    return this.#ticket;
  }

  /** Start a new turn: the previous one becomes stale and is aborted. */
  begin(parent?: AbortSignal): TurnTicket {
    const previous = this.#ticket;
    this.#current++;
    const ticket = new TurnTicket(this, this.#current, previous?.settled() ?? Promise.resolve(), parent);
    previous?.abort('superseded');
    this.#ticket = ticket;
    return ticket;
  }

  /** Abort the current turn, if any (barge-in). */
  abortCurrent(reason?: unknown): void {
    this.#ticket?.abort(reason);
  }
}

/** A guard that is always live, for tools run outside a room turn (tests, one-off calls). */
export function alwaysLive(): TurnGuard {
  return {
    generation: 0,
    isLive: () => true,
    act: <T>(effect: () => T): ActResult<T> => ({ done: true, value: effect() }),
  };
}
