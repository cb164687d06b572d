import { anySignal, raceAbort } from '../core/abort.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { errorMessage, TimeoutError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, ToolCall } from '../providers/types.ts';
import { noopTracer, type Tracer } from './span.ts';
import { executeToolRound, type ToolCallOutcome } from './tool-executor.ts';
import { resolveLoopLimits, type ToolLoopLimits } from './loop-limits.ts';
import { ToolPolicy } from './tool-policy.ts';
import type { ToolSet } from './tool-set.ts';
import { DEFAULT_MAX_RESULT_TOKENS } from './truncate.ts';
import type { ActResult, TurnGuard } from './turn-generation.ts';
import { ArgValidator } from './validate-args.ts';

export { DEFAULT_LOOP_LIMITS, resolveLoopLimits, type ToolLoopLimits } from './loop-limits.ts';

/** Default deadline of one tool call. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

export type ToolLoopStopReason = 'stop' | 'length' | 'max_tool_rounds' | 'timeout' | 'aborted' | 'error' | 'handoff';

export interface ToolLoopResult {
  readonly reason: ToolLoopStopReason;
  /** All assistant text streamed in this loop, across rounds (partial when aborted). */
  readonly text: string;
  /** Text of the final answer (the round without tool calls); empty when the loop ended otherwise. */
  readonly finalText: string;
  /** Messages committed by this loop, in order (assistant turns with their calls, tool results). */
  readonly messages: readonly ChatMessage[];
  /** Tool rounds executed. */
  readonly rounds: number;
  /** With reason `handoff`: the agent the conversation goes to. */
  readonly handoffTo?: string;
  /** With reason `error`: what failed (the model stream). */
  readonly error?: Error;
}

/** What the loop streams: text and thinking deltas, tool calls, tool results, warnings, done. */
export type ToolLoopEvent =
  | { readonly type: 'text'; readonly delta: string }
  | { readonly type: 'thinking'; readonly delta: string }
  | { readonly type: 'tool_calls'; readonly round: number; readonly calls: readonly ToolCall[] }
  | { readonly type: 'tool_result'; readonly outcome: ToolCallOutcome }
  | { readonly type: 'warning'; readonly message: string; readonly round: number }
  | { readonly type: 'done'; readonly result: ToolLoopResult };

export interface ToolLoopOptions {
  readonly provider: LlmProvider;
  /** Request history, system prompt first. Not mutated. */
  readonly messages: readonly ChatMessage[];
  readonly tools: ToolSet;
  readonly policy?: ToolPolicy;
  readonly request?: Pick<LlmRequest, 'model' | 'temperature' | 'maxTokens' | 'thinkingBudget'>;
  /** Merged field by field over the defaults and validated; a bad value ends the loop with reason `error`. */
  readonly limits?: Partial<ToolLoopLimits>;
  /** Barge-in: aborting ends the loop; interruptible tools are cancelled, uninterruptible ones finish. */
  readonly signal?: AbortSignal;
  /**
   * A deadline shared with other loops (an agent run's handoff hops): its abort ends this loop with
   * reason `timeout`, and the loop then starts no timer of its own (`toolLoopTimeoutSeconds` is the
   * owner's business).
   */
  readonly deadline?: AbortSignal;
  /** Rounds already spent by earlier loops of the same run: they count against `maxToolRounds`. */
  readonly roundsBefore?: number;
  /** Turn liveness for `ctx.turn` (default: live until `signal` aborts). */
  readonly guard?: TurnGuard;
  readonly roomId?: string;
  readonly roomMetadata?: Readonly<Record<string, unknown>>;
  readonly state?: Record<string, unknown>;
  readonly logger?: Logger;
  readonly tracer?: Tracer;
  readonly clock?: Clock;
  /** Argument validator (compiled-schema cache); default a new one for this loop. */
  readonly validator?: ArgValidator;
  readonly toolTimeoutMs?: number;
  readonly maxResultTokens?: number;
  /**
   * Receives every event; a returned promise (text backpressure) is awaited, but never past the
   * loop's interruption: `signal` aborts on barge-in and at the loop deadline, and a consumer that is
   * still waiting then (nobody reading the text) is left behind. Pass `signal` on to whatever waits.
   */
  readonly onEvent?: (event: ToolLoopEvent, signal: AbortSignal) => void | Promise<void>;
  /** Receives every message as it is committed (room history). */
  readonly commit?: (message: ChatMessage) => void;
}

/**
 * The streaming tool loop: call the model, stream its text, run the tool calls it makes (concurrently,
 * under policy, timeouts and spans), feed the results back, and repeat until the model answers without
 * tools or a limit, an abort or an error ends it. Never throws: every ending is a {@link ToolLoopResult}.
 */
export async function runToolLoop(o: ToolLoopOptions): Promise<ToolLoopResult> {
  const clock = o.clock ?? systemClock();
  const logger = o.logger ?? silentLogger();
  let limits: ToolLoopLimits;
  try {
    limits = resolveLoopLimits(o.limits);
  } catch (err) {
    return invalidLimits(o, logger, err as Error);
  }
  const policy = o.policy ?? ToolPolicy.permitAll();
  const validator = o.validator ?? new ArgValidator();
  const roundsBefore = o.roundsBefore ?? 0;
  const own = new AbortController();
  const timer =
    o.deadline !== undefined || limits.toolLoopTimeoutSeconds === null
      ? undefined
      : clock.setTimeout(() => own.abort(new TimeoutError('tool loop timed out')), limits.toolLoopTimeoutSeconds * 1000);
  const deadline = o.deadline ?? own.signal;
  const interrupt = anySignal(o.signal, deadline);
  const guard = loopGuard(interrupt, o.guard);
  const history: ChatMessage[] = [...o.messages];
  const committed: ChatMessage[] = [];
  const offered = policy.filter(o.tools.definitions);
  let text = '';
  let rounds = 0;

  const emit = async (event: ToolLoopEvent): Promise<void> => {
    try {
      // A consumer stuck on text backpressure must not outlive a barge-in or the deadline.
      await untilAborted(o.onEvent?.(event, interrupt), interrupt);
    } catch (err) {
      if (!interrupt.aborted) logger.warn({ err: errorMessage(err) }, 'tool loop event consumer failed');
    }
  };
  const commit = (message: ChatMessage): void => {
    history.push(message);
    committed.push(message);
    o.commit?.(message);
  };
  const end = async (
    reason: ToolLoopStopReason,
    extra: { handoffTo?: string; error?: Error; finalText?: string } = {},
  ): Promise<ToolLoopResult> => {
    const result: ToolLoopResult = { reason, text, finalText: '', messages: committed, rounds, ...extra };
    logger.debug({ reason, rounds }, 'tool loop ended');
    await emit({ type: 'done', result });
    return result;
  };
  const stopped = (): ToolLoopStopReason => (deadline.aborted ? 'timeout' : 'aborted');

  try {
    for (;;) {
      if (interrupt.aborted) return await end(stopped());
      const request: LlmRequest = { ...o.request, messages: [...history], ...(offered.length > 0 ? { tools: offered } : {}) };
      let roundText = '';
      const calls: ToolCall[] = [];
      let finish: Extract<LlmEvent, { type: 'done' }>['finishReason'] | undefined;
      try {
        for await (const ev of o.provider.stream(request, interrupt)) {
          if (interrupt.aborted) break;
          if (ev.type === 'text') {
            roundText += ev.delta;
            text += ev.delta;
            await emit(ev);
          } else if (ev.type === 'thinking') {
            await emit(ev);
          } else if (ev.type === 'tool_call') {
            calls.push(ev.call);
          } else {
            finish = ev.finishReason;
          }
        }
      } catch (err) {
        if (interrupt.aborted) return await end(stopped());
        logger.warn({ err: errorMessage(err) }, 'model stream failed');
        return await end('error', { error: err instanceof Error ? err : new Error(String(err)) });
      }
      // Partial text of an aborted round is not committed: only the caller knows how much was heard.
      if (interrupt.aborted) return await end(stopped());
      if (calls.length === 0) {
        if (roundText !== '') commit({ role: 'assistant', content: roundText });
        return await end(finish === 'length' ? 'length' : 'stop', { finalText: roundText });
      }
      if (roundsBefore + rounds >= limits.maxToolRounds) {
        // The calls are not run and not committed, so history never holds a call without its result.
        if (roundText !== '') commit({ role: 'assistant', content: roundText });
        logger.warn({ rounds: roundsBefore + rounds, maxToolRounds: limits.maxToolRounds }, 'tool loop hit maxToolRounds');
        return await end('max_tool_rounds');
      }
      rounds++;
      const total = roundsBefore + rounds;
      if (total === limits.toolLoopWarnAfter) {
        logger.warn({ rounds: total }, 'tool loop is running long');
        await emit({ type: 'warning', message: `tool loop reached ${total} rounds`, round: total });
      }
      commit({ role: 'assistant', content: roundText, toolCalls: calls });
      await emit({ type: 'tool_calls', round: rounds, calls });
      const outcomes = await executeToolRound({
        calls,
        tools: o.tools,
        policy,
        guard,
        interrupt,
        roomId: o.roomId ?? 'local',
        roomMetadata: o.roomMetadata ?? {},
        state: o.state ?? {},
        logger,
        tracer: o.tracer ?? noopTracer(),
        clock,
        validator,
        toolTimeoutMs: o.toolTimeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
        maxResultTokens: o.maxResultTokens ?? DEFAULT_MAX_RESULT_TOKENS,
        onOutcome: (outcome) => void emit({ type: 'tool_result', outcome }),
      });
      // Every call gets its tool message, cancelled ones included: vendors reject a history with a
      // tool call that has no result, and the uninterruptible results must survive the abort.
      for (const oc of outcomes) commit({ role: 'tool', toolCallId: oc.call.id, name: oc.call.name, content: oc.result });
      if (interrupt.aborted) return await end(stopped());
      const handoff = outcomes.find((oc) => oc.handoffTo !== undefined);
      if (handoff?.handoffTo !== undefined) return await end('handoff', { handoffTo: handoff.handoffTo });
    }
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
}

/** A loop whose limits do not validate never calls the model: it ends at once with reason `error`. */
async function invalidLimits(o: ToolLoopOptions, logger: Logger, error: Error): Promise<ToolLoopResult> {
  logger.error({ err: error.message }, 'tool loop limits are invalid');
  const result: ToolLoopResult = { reason: 'error', text: '', finalText: '', messages: [], rounds: 0, error };
  try {
    await untilAborted(o.onEvent?.({ type: 'done', result }, o.signal ?? new AbortController().signal), o.signal);
  } catch {
    // The consumer's failure does not change the outcome.
  }
  return result;
}

/** Wait for `work`, but no longer than until `signal` aborts (then resolve; `work` is left to settle alone). */
async function untilAborted(work: void | Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (work !== undefined) await raceAbort(work, signal);
}

/**
 * The guard tools see: the turn's guard, and also stale once the loop itself is interrupted (deadline),
 * so a tool left running by a timed-out loop cannot act either.
 */
function loopGuard(interrupt: AbortSignal, base: TurnGuard | undefined): TurnGuard {
  return {
    generation: base?.generation ?? 0,
    isLive: () => !interrupt.aborted && (base?.isLive() ?? true),
    act<T>(effect: () => T): ActResult<T> {
      // The turn's own verdict first (it knows "superseded"); the loop deadline next.
      if (base !== undefined && !base.isLive()) return base.act(effect);
      if (interrupt.aborted) return { done: false, reason: 'aborted' };
      return base === undefined ? { done: true, value: effect() } : base.act(effect);
    },
  };
}
