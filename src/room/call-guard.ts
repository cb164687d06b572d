import type { ActResult, StaleReason, TurnGuard } from './turn-generation.ts';

/** Why one tool call was dropped by the loop (its result is no longer awaited). */
export type DropReason = Extract<StaleReason, 'timeout' | 'cancelled'>;

/** A per-call guard plus the switch the executor flips when it gives up on that call. */
export interface CallGuard {
  readonly guard: TurnGuard;
  /** Mark the call dropped: from now on `act` refuses and `isLive` is false. Idempotent (first reason wins). */
  drop(reason: DropReason): void;
}

/**
 * The guard one tool call sees as `ctx.turn`. A handler that ignores its AbortSignal keeps running
 * after the loop gave up on it (timeout, cancellation); its turn may still be live, so the turn's own
 * guard would let a late `hangUp` act on a call whose model was told the hang-up failed. This guard
 * refuses once the call was dropped. The turn's verdict comes first: it says more ("superseded").
 */
export function callGuard(turn: TurnGuard): CallGuard {
  let dropped: DropReason | undefined;
  const guard: TurnGuard = {
    generation: turn.generation,
    isLive: () => dropped === undefined && turn.isLive(),
    act<T>(effect: () => T): ActResult<T> {
      if (!turn.isLive()) return turn.act(effect);
      if (dropped !== undefined) return { done: false, reason: dropped };
      // Still synchronous: no await between this check and the effect.
      return turn.act(effect);
    },
  };
  return {
    guard,
    drop(reason) {
      dropped ??= reason;
    },
  };
}
