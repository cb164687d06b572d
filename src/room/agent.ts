import type { Clock } from '../core/clock.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ChatMessage, LlmProvider, ToolDefinition } from '../providers/types.ts';
import { agentAsTool, type AgentToolOptions } from './agent-tool.ts';
import { handoff, handoffTool, type Handoff } from './handoff.ts';
import type { Tracer } from './span.ts';
import type { Tool, ToolHandler } from './tool.ts';
import { runToolLoop, type ToolLoopEvent, type ToolLoopLimits, type ToolLoopResult, type ToolLoopStopReason } from './tool-loop.ts';
import { ToolPolicy } from './tool-policy.ts';
import { ToolSet } from './tool-set.ts';
import type { TurnGuard } from './turn-generation.ts';

export interface AgentOptions {
  readonly name: string;
  /** System prompt. */
  readonly instructions: string;
  readonly provider: LlmProvider;
  /** Tool objects, and plain definitions whose calls go to `toolHandler`. */
  readonly tools?: ReadonlyArray<Tool | ToolDefinition>;
  /** Explicit handler, tried after the tool objects (e.g. an MCP provider's `asToolHandler()`). */
  readonly toolHandler?: ToolHandler;
  readonly toolPolicy?: ToolPolicy;
  /** Agents this one may transfer the conversation to. */
  readonly handoffs?: ReadonlyArray<Agent | Handoff>;
  /** One line other agents' handoff tools append to their description. */
  readonly handoffDescription?: string;
  readonly model?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly thinkingBudget?: number;
  readonly limits?: Partial<ToolLoopLimits>;
  readonly toolTimeoutMs?: number;
  readonly maxResultTokens?: number;
}

/** Per-run overrides (a room binding's metadata): they apply to the agent the run starts with. */
export interface AgentOverrides {
  readonly systemPrompt?: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly thinkingBudget?: number;
  /** Added after the agent's own tools. */
  readonly tools?: ReadonlyArray<Tool | ToolDefinition>;
}

export interface AgentRunOptions {
  /** The conversation so far, without a system prompt. */
  readonly history: readonly ChatMessage[];
  readonly signal?: AbortSignal;
  readonly guard?: TurnGuard;
  readonly state?: Record<string, unknown>;
  readonly roomId?: string;
  readonly roomMetadata?: Readonly<Record<string, unknown>>;
  /** Role for the tool policy's role overrides. */
  readonly role?: string;
  readonly overrides?: AgentOverrides;
  /** Tools offered to every agent of the run, handoff targets included (room-scoped call control). */
  readonly roomTools?: ReadonlyArray<Tool>;
  /** Replace the agent's loop limits for this run. */
  readonly limits?: Partial<ToolLoopLimits>;
  /** Handoffs followed in one run before it stops (guards against two agents bouncing forever). Default 8. */
  readonly maxHandoffs?: number;
  readonly onEvent?: (event: ToolLoopEvent, agent: Agent) => void | Promise<void>;
  readonly commit?: (message: ChatMessage) => void;
  readonly onHandoff?: (from: Agent, to: Agent) => void;
  readonly logger?: Logger;
  readonly tracer?: Tracer;
  readonly clock?: Clock;
}

export interface AgentRunResult {
  readonly reason: ToolLoopStopReason;
  /** All text streamed, across agents and rounds. */
  readonly text: string;
  /** The final answer of the agent that answered last. */
  readonly finalText: string;
  /** Every message committed by the run. */
  readonly messages: readonly ChatMessage[];
  readonly rounds: number;
  /** The agent that answered last (differs from the starting one after a handoff). */
  readonly agent: Agent;
  readonly error?: Error;
}

/**
 * An agent: instructions, a model, tools and handoffs. `run` drives the tool loop and follows
 * handoffs with the full history; `asTool` wraps the agent as a tool another agent can call.
 */
export class Agent {
  readonly options: AgentOptions;
  readonly #handoffs: readonly Handoff[];

  constructor(options: AgentOptions) {
    this.options = options;
    this.#handoffs = (options.handoffs ?? []).map((h) => (h instanceof Agent ? handoff(h) : h));
  }

  get name(): string {
    return this.options.name;
  }

  get instructions(): string {
    return this.options.instructions;
  }

  get handoffDescription(): string | undefined {
    return this.options.handoffDescription;
  }

  /** The handoff registry, in declaration order. */
  get handoffs(): readonly Handoff[] {
    return this.#handoffs;
  }

  /** A copy with some options replaced. */
  clone(overrides: Partial<AgentOptions>): Agent {
    return new Agent({ ...this.options, ...overrides });
  }

  /** This agent as a tool (Chatwoot AgentTool): see {@link agentAsTool}. */
  asTool(options: AgentToolOptions): Tool {
    return agentAsTool(this, options);
  }

  /** The tools one loop of this agent offers: its own, the run's extras, then its handoff tools. */
  toolSet(extra: ReadonlyArray<Tool | ToolDefinition> = []): ToolSet {
    const entries = [...(this.options.tools ?? []), ...extra, ...this.#handoffs.map(handoffTool)];
    return new ToolSet(entries, this.options.toolHandler);
  }

  async run(o: AgentRunOptions): Promise<AgentRunResult> {
    const history: ChatMessage[] = [...o.history];
    const committed: ChatMessage[] = [];
    const logger = o.logger ?? silentLogger();
    let agent: Agent = this;
    let text = '';
    let rounds = 0;
    for (let hops = 0; ; hops++) {
      const first = agent === this;
      const ov = first ? (o.overrides ?? {}) : {};
      const opt = agent.options;
      const temperature = ov.temperature ?? opt.temperature;
      const maxTokens = ov.maxTokens ?? opt.maxTokens;
      const thinkingBudget = ov.thinkingBudget ?? opt.thinkingBudget;
      const current = agent;
      const result: ToolLoopResult = await runToolLoop({
        provider: opt.provider,
        messages: [{ role: 'system', content: ov.systemPrompt ?? opt.instructions }, ...history],
        tools: agent.toolSet([...(ov.tools ?? []), ...(o.roomTools ?? [])]),
        policy: (opt.toolPolicy ?? ToolPolicy.permitAll()).resolve(o.role),
        request: {
          ...(opt.model === undefined ? {} : { model: opt.model }),
          ...(temperature === undefined ? {} : { temperature }),
          ...(maxTokens === undefined ? {} : { maxTokens }),
          ...(thinkingBudget === undefined ? {} : { thinkingBudget }),
        },
        limits: { ...opt.limits, ...o.limits },
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.guard === undefined ? {} : { guard: o.guard }),
        ...(o.roomId === undefined ? {} : { roomId: o.roomId }),
        ...(o.roomMetadata === undefined ? {} : { roomMetadata: o.roomMetadata }),
        ...(o.state === undefined ? {} : { state: o.state }),
        ...(opt.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: opt.toolTimeoutMs }),
        ...(opt.maxResultTokens === undefined ? {} : { maxResultTokens: opt.maxResultTokens }),
        ...(o.tracer === undefined ? {} : { tracer: o.tracer }),
        ...(o.clock === undefined ? {} : { clock: o.clock }),
        logger: logger.child({ agent: agent.name }),
        onEvent: (event) => o.onEvent?.(event, current),
        commit: (message) => {
          history.push(message);
          committed.push(message);
          o.commit?.(message);
        },
      });
      text += result.text;
      rounds += result.rounds;
      const base = { text, messages: committed, rounds, agent };
      if (result.reason !== 'handoff') {
        return { ...base, reason: result.reason, finalText: result.finalText, ...(result.error === undefined ? {} : { error: result.error }) };
      }
      const target = agent.#handoffs.find((h) => h.agent.name === result.handoffTo)?.agent;
      if (target === undefined || hops >= (o.maxHandoffs ?? 8)) {
        logger.warn({ from: agent.name, to: result.handoffTo }, 'handoff not followed');
        return { ...base, reason: 'error', finalText: '', error: new Error(`handoff to ${result.handoffTo} not followed`) };
      }
      logger.info({ from: agent.name, to: target.name }, 'conversation handed off');
      o.onHandoff?.(agent, target);
      agent = target;
    }
  }
}
