import type { LlmProvider, ToolDefinition } from '../providers/types.ts';
import { Agent, type AgentOptions, type AgentOverrides } from './agent.ts';
import type { BindingMetadata, IntelligenceChannel, TurnContext, TurnOutcome } from './channel.ts';
import type { ChannelCategory } from './events.ts';
import type { Handoff } from './handoff.ts';
import type { Tool, ToolHandler } from './tool.ts';
import type { ToolLoopEvent, ToolLoopLimits } from './tool-loop.ts';
import type { ToolPolicy } from './tool-policy.ts';

export interface AiChannelOptions {
  readonly id: string;
  /** The agent to run; or give `provider` and `systemPrompt` (and the rest) to build one. */
  readonly agent?: Agent;
  readonly provider?: LlmProvider;
  readonly systemPrompt?: string;
  readonly tools?: ReadonlyArray<Tool | ToolDefinition>;
  readonly toolHandler?: ToolHandler;
  readonly toolPolicy?: ToolPolicy;
  readonly handoffs?: ReadonlyArray<Agent | Handoff>;
  readonly model?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly thinkingBudget?: number;
  readonly limits?: Partial<ToolLoopLimits>;
  readonly toolTimeoutMs?: number;
  readonly maxResultTokens?: number;
  /** Stream text deltas as they arrive (default true); false delivers each round's text whole. */
  readonly streaming?: boolean;
}

/**
 * The AI channel: an intelligence channel that answers a room's user turns with an agent and its
 * streaming tool loop. Binding metadata overrides the defaults per room (`system_prompt`,
 * `temperature`, `max_tokens`, `thinking_budget`, `tools`, `role`). After a handoff the target agent
 * answers that room's later turns.
 */
export class AiChannel implements IntelligenceChannel {
  readonly id: string;
  readonly category: ChannelCategory = 'intelligence';
  readonly agent: Agent;
  readonly streaming: boolean;
  readonly #active = new Map<string, Agent>();

  constructor(options: AiChannelOptions) {
    this.id = options.id;
    this.streaming = options.streaming ?? true;
    if (options.agent !== undefined) {
      this.agent = options.agent;
    } else {
      if (options.provider === undefined) throw new RangeError('AiChannel needs an agent or a provider');
      const { id: _id, agent: _agent, streaming: _streaming, systemPrompt, provider, ...rest } = options;
      const agentOptions: AgentOptions = { ...rest, name: options.id, instructions: systemPrompt ?? '', provider };
      this.agent = new Agent(agentOptions);
    }
  }

  /** The agent answering in `roomId` (the channel's own until a handoff). */
  activeAgent(roomId: string): Agent {
    return this.#active.get(roomId) ?? this.agent;
  }

  detached(roomId: string): void {
    this.#active.delete(roomId);
  }

  async runTurn(ctx: TurnContext): Promise<TurnOutcome> {
    const roomId = ctx.room.id;
    const start = this.activeAgent(roomId);
    const meta = ctx.binding.metadata;
    // Binding overrides configure this channel's own agent; an agent reached by handoff keeps its own.
    const overrides = start === this.agent ? bindingOverrides(meta) : {};
    ctx.emit({ type: 'TURN_STARTED', turnId: ctx.turnId, generation: ctx.ticket.generation, agent: start.name });
    let pending = '';
    const flush = async (signal: AbortSignal): Promise<void> => {
      if (pending === '') return;
      const whole = pending;
      pending = '';
      ctx.emit({ type: 'TEXT_DELTA', turnId: ctx.turnId, delta: whole });
      await ctx.text(whole, signal);
    };
    // `signal` is the loop's interruption (barge-in or its deadline): text backpressure never outlasts it.
    const onEvent = async (event: ToolLoopEvent, signal: AbortSignal): Promise<void> => {
      switch (event.type) {
        case 'text':
          if (!this.streaming) {
            pending += event.delta;
            return;
          }
          ctx.emit({ type: 'TEXT_DELTA', turnId: ctx.turnId, delta: event.delta });
          await ctx.text(event.delta, signal);
          return;
        case 'thinking':
          ctx.emit({ type: 'THINKING_DELTA', turnId: ctx.turnId, delta: event.delta });
          return;
        case 'tool_calls':
          await flush(signal);
          ctx.emit({ type: 'TOOL_CALL_START', turnId: ctx.turnId, round: event.round, calls: event.calls });
          return;
        case 'tool_result':
          ctx.emit({
            type: 'TOOL_CALL_END',
            turnId: ctx.turnId,
            callId: event.outcome.call.id,
            name: event.outcome.call.name,
            status: event.outcome.status,
            duration_ms: Math.round(event.outcome.durationMs * 1000) / 1000,
            truncated: event.outcome.truncated,
          });
          return;
        case 'warning':
          ctx.emit({ type: 'TOOL_LOOP_WARNING', turnId: ctx.turnId, message: event.message, round: event.round });
          return;
        case 'done':
          if (event.result.reason !== 'aborted') await flush(signal);
          return;
      }
    };
    const result = await start.run({
      history: ctx.room.history(),
      signal: ctx.ticket.signal,
      guard: ctx.ticket,
      state: ctx.room.state,
      roomId,
      roomMetadata: ctx.room.metadata,
      ...(typeof meta.role === 'string' ? { role: meta.role } : {}),
      overrides,
      ...(ctx.binding.tools === undefined ? {} : { roomTools: ctx.binding.tools }),
      onEvent: (event, _agent, signal) => onEvent(event, signal),
      commit: (message) => ctx.publish(message),
      onHandoff: (from, to) => {
        this.#active.set(roomId, to);
        ctx.handoff(from.name, to.name);
      },
      logger: ctx.logger,
      tracer: ctx.tracer,
      clock: ctx.clock,
    });
    ctx.emit({ type: 'TURN_ENDED', turnId: ctx.turnId, reason: result.reason, rounds: result.rounds, agent: result.agent.name });
    return {
      reason: result.reason,
      text: result.text,
      agent: result.agent.name,
      rounds: result.rounds,
      ...(result.error === undefined ? {} : { error: result.error }),
    };
  }
}

/** Binding metadata keys that override the agent's defaults for one room. */
function bindingOverrides(meta: BindingMetadata): AgentOverrides {
  return {
    ...(typeof meta.system_prompt === 'string' ? { systemPrompt: meta.system_prompt } : {}),
    ...(typeof meta.temperature === 'number' ? { temperature: meta.temperature } : {}),
    ...(typeof meta.max_tokens === 'number' ? { maxTokens: meta.max_tokens } : {}),
    ...(typeof meta.thinking_budget === 'number' ? { thinkingBudget: meta.thinking_budget } : {}),
    ...(Array.isArray(meta.tools) ? { tools: meta.tools.filter(isDefinition) } : {}),
  };
}

function isDefinition(value: unknown): value is ToolDefinition {
  return typeof value === 'object' && value !== null && typeof (value as { name?: unknown }).name === 'string';
}
