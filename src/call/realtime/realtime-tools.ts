/**
 * The realtime model's tool calls, run the room's way: the same `ToolSet` (the agent's tools with the
 * call's system and client tools over them), the same policy, argument validation, per-tool deadlines,
 * loop deadline for unbounded tools, result truncation, spans and TOOL_CALL_START / TOOL_CALL_END room
 * events as a cascade turn (`executeToolRound`, one call per round since realtime calls arrive one by
 * one). Every call the model still wants gets its result through `send`, failures included; a call the
 * model withdrew (`cancel`) is aborted (uninterruptible ones finish but can no longer act) and not
 * answered. Calls and results are committed to the room's history.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage, TimeoutError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { ToolCall, ToolDefinition } from '../../providers/types.ts';
import type { RoomKit } from '../../room/room-kit.ts';
import { noopTracer } from '../../room/span.ts';
import { executeToolRound, type ToolCallOutcome } from '../../room/tool-executor.ts';
import type { ToolPolicy } from '../../room/tool-policy.ts';
import type { ToolSet } from '../../room/tool-set.ts';
import { toolError } from '../../room/tool.ts';
import { DEFAULT_MAX_RESULT_TOKENS } from '../../room/truncate.ts';
import type { ActResult, TurnGuard } from '../../room/turn-generation.ts';
import { ArgValidator } from '../../room/validate-args.ts';
import type { CallEvent } from '../call-events.ts';

export interface RealtimeToolsOptions {
  readonly tools: ToolSet;
  readonly policy: ToolPolicy;
  readonly kit: RoomKit;
  readonly roomId: string;
  readonly roomMetadata: Readonly<Record<string, unknown>>;
  readonly state: Record<string, unknown>;
  /** Default deadline of one call (`spec.tools.timeoutMs`). */
  readonly toolTimeoutMs: number;
  /** Bound of tools without their own deadline (`spec.loop.toolLoopTimeoutSeconds`; null for none). */
  readonly loopTimeoutMs: number | null;
  /** Calls per caller turn before further ones are refused (`spec.loop.maxToolRounds`). */
  readonly maxCallsPerTurn: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly sinceAnswer: () => number;
  readonly emit: (event: CallEvent) => void;
  /** Give the model its result (the current session's `sendToolResult`). */
  readonly send: (callId: string, name: string, output: string) => void;
}

interface Running {
  readonly controller: AbortController;
  /** The session that asked (a result for a replaced session has nowhere to go). */
  readonly session: number;
  withdrawn: boolean;
  done: Promise<void>;
}

export class RealtimeTools {
  readonly #o: RealtimeToolsOptions;
  readonly #validator = new ArgValidator();
  readonly #running = new Map<string, Running>();
  #session = 0;
  #callsThisTurn = 0;
  #generation = 0;
  #closed = false;

  constructor(options: RealtimeToolsOptions) {
    this.#o = options;
  }

  /** What the model is offered: the set, less what the policy blocks. */
  definitions(): ToolDefinition[] {
    return this.#o.policy.filter(this.#o.tools.definitions);
  }

  /** Tool calls in progress. */
  get running(): number {
    return this.#running.size;
  }

  /** A new caller turn: the per-turn call budget starts again. */
  newTurn(): void {
    this.#callsThisTurn = 0;
  }

  /** The model's session was replaced: calls of the old one are withdrawn (their results have no taker). */
  newSession(): void {
    this.#session++;
    this.cancel([...this.#running.keys()]);
  }

  run(request: { readonly callId: string; readonly name: string; readonly arguments: string; readonly responseId?: string }): void {
    if (this.#closed || this.#running.has(request.callId)) return;
    const call: ToolCall = { id: request.callId, name: request.name, arguments: request.arguments };
    const entry: Running = { controller: new AbortController(), session: this.#session, withdrawn: false, done: Promise.resolve() };
    this.#running.set(call.id, entry);
    entry.done = this.#execute(call, entry, request.responseId ?? call.id).catch((err: unknown) => {
      this.#running.delete(call.id);
      this.#o.logger.warn({ tool: call.name, err: errorMessage(err) }, 'realtime: tool call could not be completed');
    });
  }

  /** The model withdrew these calls: abort them and do not answer. */
  cancel(callIds: readonly string[]): void {
    for (const id of callIds) {
      const r = this.#running.get(id);
      if (r === undefined) continue;
      r.withdrawn = true;
      r.controller.abort('withdrawn');
    }
  }

  /** The call is over: every call in progress is withdrawn (aborted, reported cancelled, never answered). */
  withdrawAll(): void {
    this.#closed = true;
    for (const r of this.#running.values()) {
      r.withdrawn = true;
      r.controller.abort('call ended');
    }
  }

  /**
   * The call ended: abort everything and wait for the calls to settle, at most `waitMs` (an uninterruptible
   * tool may still be working; it cannot act any more, and nothing is sent for it).
   */
  async close(waitMs = 2000): Promise<void> {
    this.withdrawAll();
    const all = [...this.#running.values()];
    if (all.length === 0) return;
    let timer: TimerHandle | undefined;
    await Promise.race([Promise.all(all.map((r) => r.done)), new Promise<void>((resolve) => (timer = this.#o.clock.setTimeout(resolve, waitMs)))]);
    if (timer !== undefined) this.#o.clock.clearTimeout(timer);
  }

  async #execute(call: ToolCall, entry: Running, turnId: string): Promise<void> {
    const o = this.#o;
    const startedAt = o.sinceAnswer();
    const round = ++this.#generation;
    o.kit.emitEphemeral(o.roomId, 'agent', { type: 'TOOL_CALL_START', turnId, round, calls: [call] });
    o.emit({ type: 'tool_started', toolCallId: call.id, name: call.name, atMs: startedAt });
    o.kit.addMessage(o.roomId, 'agent', { role: 'assistant', content: '', toolCalls: [call] });
    // A tool with no deadline of its own is still bounded, as a cascade turn's loop bounds it.
    let deadline: TimerHandle | undefined;
    if (o.loopTimeoutMs !== null) {
      deadline = o.clock.setTimeout(() => entry.controller.abort(new TimeoutError('tool loop timed out')), o.loopTimeoutMs);
    }
    let outcome: ToolCallOutcome;
    try {
      if (++this.#callsThisTurn > o.maxCallsPerTurn) {
        o.logger.warn({ tool: call.name, maxCallsPerTurn: o.maxCallsPerTurn }, 'realtime: tool call refused, too many this turn');
        outcome = { call, result: toolError(`Too many tool calls in this turn (at most ${o.maxCallsPerTurn})`), status: 'refused', durationMs: 0, truncated: false };
      } else {
        const [first] = await executeToolRound({
          calls: [call],
          tools: o.tools,
          policy: o.policy,
          guard: guardOf(entry.controller.signal, round),
          interrupt: entry.controller.signal,
          roomId: o.roomId,
          roomMetadata: o.roomMetadata,
          state: o.state,
          logger: o.logger,
          tracer: noopTracer(),
          clock: o.clock,
          validator: this.#validator,
          toolTimeoutMs: o.toolTimeoutMs,
          maxResultTokens: DEFAULT_MAX_RESULT_TOKENS,
        });
        outcome = first ?? { call, result: toolError('the tool did not run'), status: 'error', durationMs: 0, truncated: false };
      }
    } finally {
      if (deadline !== undefined) o.clock.clearTimeout(deadline);
      this.#running.delete(call.id);
    }
    // Committing the result is not interrupted by barge-in: only a withdrawn call is left unanswered. It goes
    // out before the call is reported finished, so the call is never idle between the tool and the answer.
    if (!entry.withdrawn && entry.session === this.#session && !this.#closed) o.send(call.id, call.name, outcome.result);
    const status = entry.withdrawn ? 'cancelled' : outcome.status;
    o.kit.emitEphemeral(o.roomId, 'agent', {
      type: 'TOOL_CALL_END',
      turnId,
      callId: call.id,
      name: call.name,
      status,
      duration_ms: outcome.durationMs,
      truncated: outcome.truncated,
    });
    o.emit({
      type: 'tool_finished',
      toolCallId: call.id,
      name: call.name,
      atMs: o.sinceAnswer(),
      durationMs: Math.round(outcome.durationMs),
      outcome: status === 'ok' || status === 'timeout' || status === 'cancelled' || status === 'refused' ? status : 'error',
    });
    o.kit.addMessage(o.roomId, 'agent', { role: 'tool', toolCallId: call.id, name: call.name, content: outcome.result });
  }
}

/** A realtime call's liveness: live until the model withdraws it or the call ends. */
function guardOf(signal: AbortSignal, generation: number): TurnGuard {
  return {
    generation,
    isLive: () => !signal.aborted,
    act<T>(effect: () => T): ActResult<T> {
      if (signal.aborted) return { done: false, reason: 'cancelled' };
      return { done: true, value: effect() };
    },
  };
}
