import { systemClock, type Clock } from '../core/clock.ts';
import { TimeoutError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ChatMessage, LlmProvider, ToolDefinition } from '../providers/types.ts';
import { agentAsTool, type AgentToolOptions } from './agent-tool.ts';
import { handoff, handoffTool, type Handoff } from './handoff.ts';
import type { Tracer } from './span.ts';
import type { Tool, ToolHandler } from './tool.ts';
import { resolveLoopLimits, type ToolLoopLimits } from './loop-limits.ts';
import { runToolLoop, type ToolLoopEvent, type ToolLoopResult, type ToolLoopStopReason } from './tool-loop.ts';
import { ToolPolicy } from './tool-policy.ts';
import { ToolSet } from './tool-set.ts';
import type { TurnGuard } from './turn-generation.ts';
import { ArgValidator } from './validate-args.ts';

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
  /** Validated at construction (a bad value throws ConfigError); one budget for a whole run, handoffs included. */
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
  /** Per-room tools: one with the name of an agent tool replaces it in place; the others are added after. */
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
  /** Override the starting agent's loop limits for this run, field by field. */
  readonly limits?: Partial<ToolLoopLimits>;
  /** Handoffs followed in one run before it stops (guards against two agents bouncing forever). Default 8. */
  readonly maxHandoffs?: number;
  /** Every loop event; `signal` aborts on barge-in and at the run's deadline (see `ToolLoopOptions.onEvent`). */
  readonly onEvent?: (event: ToolLoopEvent, agent: Agent, signal: AbortSignal) => void | Promise<void>;
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
  /** Compiled argument schemas of this agent's tools, kept across its runs. */
  readonly #validator = new ArgValidator();

  constructor(options: AgentOptions) {
    // Fail at configuration time, not on the first call.
    resolveLoopLimits(options.limits);
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

  /**
   * The tools one loop of this agent offers: its own (each replaced in place by a same-named entry of
   * `overrides`, a room's binding tools), the remaining overrides, the run's extras, then its handoff tools.
   */
  toolSet(extra: ReadonlyArray<Tool | ToolDefinition> = [], overrides: ReadonlyArray<Tool | ToolDefinition> = []): ToolSet {
    const byName = new Map<string, Tool | ToolDefinition>();
    for (const o of overrides) if (!byName.has(nameOf(o))) byName.set(nameOf(o), o);
    const own = this.options.tools ?? [];
    const ownNames = new Set(own.map(nameOf));
    const entries = [
      ...own.map((t) => byName.get(nameOf(t)) ?? t),
      ...overrides.filter((o) => !ownNames.has(nameOf(o))),
      ...extra,
      ...this.#handoffs.map(handoffTool),
    ];
    return new ToolSet(entries, this.options.toolHandler);
  }

  /**
   * Run the conversation from `history`: this agent's loop, then each handoff target's, with the full
   * history. The hops share one budget: one deadline (`toolLoopTimeoutSeconds`, from the start) and one
   * `maxToolRounds` count, both taken from this agent's limits and the run's overrides, so handing off
   * never buys a fresh allowance.
   */
  async run(o: AgentRunOptions): Promise<AgentRunResult> {
    const history: ChatMessage[] = [...o.history];
    const committed: ChatMessage[] = [];
    const logger = o.logger ?? silentLogger();
    const clock = o.clock ?? systemClock();
    let limits: ToolLoopLimits;
    try {
      limits = resolveLoopLimits(o.limits, this.options.limits);
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'agent run limits are invalid');
      return { reason: 'error', text: '', finalText: '', messages: committed, rounds: 0, agent: this, error: err as Error };
    }
    const budget = new AbortController();
    const timer =
      limits.toolLoopTimeoutSeconds === null
        ? undefined
        : clock.setTimeout(() => budget.abort(new TimeoutError('agent run timed out')), limits.toolLoopTimeoutSeconds * 1000);
    let agent: Agent = this;
    let text = '';
    let rounds = 0;
    try {
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
          tools: agent.toolSet(o.roomTools ?? [], ov.tools ?? []),
          policy: (opt.toolPolicy ?? ToolPolicy.permitAll()).resolve(o.role),
          request: {
            ...(opt.model === undefined ? {} : { model: opt.model }),
            ...(temperature === undefined ? {} : { temperature }),
            ...(maxTokens === undefined ? {} : { maxTokens }),
            ...(thinkingBudget === undefined ? {} : { thinkingBudget }),
          },
          limits: { maxToolRounds: limits.maxToolRounds, toolLoopWarnAfter: limits.toolLoopWarnAfter },
          deadline: budget.signal,
          roundsBefore: rounds,
          validator: agent.#validator,
          ...(o.signal === undefined ? {} : { signal: o.signal }),
          ...(o.guard === undefined ? {} : { guard: o.guard }),
          ...(o.roomId === undefined ? {} : { roomId: o.roomId }),
          ...(o.roomMetadata === undefined ? {} : { roomMetadata: o.roomMetadata }),
          ...(o.state === undefined ? {} : { state: o.state }),
          ...(opt.toolTimeoutMs === undefined ? {} : { toolTimeoutMs: opt.toolTimeoutMs }),
          ...(opt.maxResultTokens === undefined ? {} : { maxResultTokens: opt.maxResultTokens }),
          ...(o.tracer === undefined ? {} : { tracer: o.tracer }),
          clock,
          logger: logger.child({ agent: agent.name }),
          onEvent: (event, signal) => o.onEvent?.(event, current, signal),
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
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  }
}

function nameOf(entry: Tool | ToolDefinition): string {
  return 'definition' in entry ? entry.definition.name : entry.name;
}
