import { anySignal } from '../core/abort.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage, TimeoutError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ToolCall } from '../providers/types.ts';
import { callGuard } from './call-guard.ts';
import type { Tracer } from './span.ts';
import { toolError, unknownToolResult, type ToolContext } from './tool.ts';
import type { ToolPolicy } from './tool-policy.ts';
import type { ToolSet } from './tool-set.ts';
import { truncateToolResult } from './truncate.ts';
import type { TurnGuard } from './turn-generation.ts';
import type { ArgValidator } from './validate-args.ts';

/**
 * How one tool call ended. `refused`: not run because the tool was not offered this turn, is blocked by
 * the policy, or has a schema that does not compile; `cancelled`: barge-in, loop deadline or stale turn.
 */
export type ToolCallStatus = 'ok' | 'error' | 'invalid' | 'refused' | 'timeout' | 'cancelled';

export interface ToolCallOutcome {
  readonly call: ToolCall;
  /** What is committed to history as the tool message (already truncated). */
  readonly result: string;
  readonly status: ToolCallStatus;
  readonly durationMs: number;
  readonly truncated: boolean;
  /** Set when a handoff tool succeeded. */
  readonly handoffTo?: string;
}

export interface ExecuteRoundOptions {
  readonly calls: readonly ToolCall[];
  readonly tools: ToolSet;
  readonly policy: ToolPolicy;
  /** Liveness of the issuing turn; a stale turn starts no call. */
  readonly guard: TurnGuard;
  /** Barge-in or loop deadline: cancels interruptible calls; uninterruptible ones finish. */
  readonly interrupt: AbortSignal;
  readonly roomId: string;
  readonly roomMetadata: Readonly<Record<string, unknown>>;
  readonly state: Record<string, unknown>;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly clock: Clock;
  readonly validator: ArgValidator;
  readonly toolTimeoutMs: number;
  readonly maxResultTokens: number;
  /** Called as each call finishes (TOOL_CALL_END), before the round completes. */
  readonly onOutcome?: (outcome: ToolCallOutcome) => void;
}

/**
 * Run one round of tool calls concurrently. Each call is checked against the policy, validated,
 * run under its own timeout and span, and truncated. Resolves with one outcome per call, in call
 * order, so the tool messages can be committed in the order the model issued them.
 */
export function executeToolRound(options: ExecuteRoundOptions): Promise<ToolCallOutcome[]> {
  return Promise.all(options.calls.map((call) => executeOne(call, options)));
}

async function executeOne(call: ToolCall, o: ExecuteRoundOptions): Promise<ToolCallOutcome> {
  const started = o.clock.now();
  const tool = o.tools.get(call.name);
  const span = o.tracer.startSpan('room.tool_call', { 'tool.name': call.name, 'tool.call_id': call.id, 'room.id': o.roomId });
  const log = o.logger.child({ tool: call.name, toolCallId: call.id });
  const finish = (status: ToolCallStatus, raw: string): ToolCallOutcome => {
    const cut = truncateToolResult(raw, o.maxResultTokens);
    const durationMs = o.clock.now() - started;
    const handoffTo = status === 'ok' ? tool?.handoffTo : undefined;
    const outcome: ToolCallOutcome = {
      call,
      result: cut.text,
      status,
      durationMs,
      truncated: cut.truncated,
      ...(handoffTo === undefined ? {} : { handoffTo }),
    };
    span.setAttribute('tool.status', status);
    span.setAttribute('tool.duration_ms', durationMs);
    if (cut.truncated) span.setAttribute('tool.truncated', true);
    span.setStatus(status === 'ok' ? 'ok' : 'error', status === 'ok' ? undefined : status);
    span.end();
    log.debug({ status, durationMs, truncated: cut.truncated, toolResult: cut.text }, 'tool call finished');
    o.onOutcome?.(outcome);
    return outcome;
  };

  // Only what was offered this turn may run: the explicit handler may know more names (an MCP
  // server's whole catalogue), but a name the model was not given must not reach any handler.
  if (tool === undefined) {
    log.warn('call to a tool that was not offered');
    return finish('refused', unknownToolResult(call.name));
  }
  if (!o.policy.isAllowed(call.name)) {
    log.warn('tool call refused by policy');
    return finish('refused', toolError(`Tool '${call.name}' is not permitted by the tool policy`, { tool: call.name }));
  }
  if (!o.guard.isLive() || o.interrupt.aborted) {
    return finish('cancelled', toolError('The turn was interrupted before this tool ran; it was not run', { tool: call.name }));
  }
  const parsed = o.validator.parse(call.arguments, tool.definition.parameters);
  if (!parsed.ok && parsed.schemaError !== undefined) {
    log.error({ err: parsed.schemaError }, 'tool parameter schema does not compile; tool refused');
    return finish('refused', toolError(`Tool ${call.name} is unavailable: its parameter schema is invalid`, { tool: call.name }));
  }
  if (!parsed.ok) {
    log.debug({ issues: parsed.issues }, 'tool arguments invalid');
    return finish('invalid', toolError(`Invalid arguments for tool ${call.name}`, { issues: parsed.issues }));
  }
  log.debug({ toolArgs: parsed.args }, 'tool call started');

  const interruptible = tool.interruptible ?? true;
  const timeoutMs = tool.timeoutMs ?? o.toolTimeoutMs;
  // A non-finite timeout is "no per-call deadline" (a client tool a person may be working on for minutes).
  const bounded = Number.isFinite(timeoutMs);
  const deadline = new AbortController();
  const guard = callGuard(o.guard);
  const timer = bounded
    ? o.clock.setTimeout(() => {
        // Dropped before the abort is dispatched: no handler code can act in between.
        guard.drop('timeout');
        deadline.abort(new TimeoutError(`tool ${call.name} timed out`));
      }, timeoutMs)
    : undefined;
  // Without its own deadline a call is still bounded by the loop's overall limit (an interrupt whose reason
  // is a TimeoutError), even when barge-in may not interrupt it. Registered before the combined signal is
  // built, so this listener runs first and the call counts as timed out, not cancelled.
  const onLoopDeadline = (): void => {
    if (!(o.interrupt.reason instanceof TimeoutError)) return;
    guard.drop('timeout');
    deadline.abort(o.interrupt.reason);
  };
  if (!bounded) o.interrupt.addEventListener('abort', onLoopDeadline, { once: true });
  const signal = interruptible ? anySignal(deadline.signal, o.interrupt) : deadline.signal;
  // An interruptible call is given up on when the turn is interrupted; its guard says so from then on.
  signal.addEventListener('abort', () => guard.drop(deadline.signal.aborted ? 'timeout' : 'cancelled'), { once: true });
  const ctx: ToolContext = {
    callId: call.id,
    roomId: o.roomId,
    signal,
    logger: log,
    state: o.state,
    roomMetadata: o.roomMetadata,
    turn: guard.guard,
    clock: o.clock,
  };
  try {
    const raw = await raceSignal(Promise.resolve().then(() => o.tools.handler(call.name, parsed.args, ctx)), signal);
    return finish('ok', typeof raw === 'string' ? raw : JSON.stringify(raw ?? null));
  } catch (err) {
    if (deadline.signal.aborted) {
      const why = bounded ? `timed out after ${timeoutMs} ms` : "was stopped at the tool loop's time limit";
      return finish('timeout', toolError(`Tool ${call.name} ${why}`, { tool: call.name }));
    }
    if (signal.aborted) {
      return finish('cancelled', toolError('The tool call was cancelled because the caller interrupted the turn', { tool: call.name }));
    }
    log.warn({ err: errorMessage(err) }, 'tool call failed');
    return finish('error', toolError(`Tool ${call.name} failed: ${errorMessage(err)}`, { tool: call.name }));
  } finally {
    if (timer !== undefined) o.clock.clearTimeout(timer);
    o.interrupt.removeEventListener('abort', onLoopDeadline);
  }
}

/**
 * Settle with `work`, or reject as soon as `signal` aborts: a handler that ignores its signal must not
 * hold the round (its late result is dropped, and cannot act: its turn is stale by then).
 */
function raceSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
