import type { Clock } from '../core/clock.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ToolDefinition } from '../providers/types.ts';
import { alwaysLive, type TurnGuard } from './turn-generation.ts';

/** Parsed tool arguments (the JSON object the model produced). */
export type ToolArgs = Record<string, unknown>;

/** What a running tool gets besides its arguments. */
export interface ToolContext {
  /** The model's id for this tool call. */
  readonly callId: string;
  readonly roomId: string;
  /** Aborts on the tool's own timeout and, for interruptible tools, on barge-in. */
  readonly signal: AbortSignal;
  /** Child logger with tool and call id; put arguments and results under `toolArgs` / `toolResult`. */
  readonly logger: Logger;
  /** State shared by the room's agents and agents used as tools (never the conversation history). */
  readonly state: Record<string, unknown>;
  /** Metadata of the room (call id, caller number, ...), read-only for tools. */
  readonly roomMetadata: Readonly<Record<string, unknown>>;
  /**
   * Liveness of this call: its turn is live and the loop has not dropped the call (timeout,
   * cancellation). Side effects go through `turn.act(...)`.
   */
  readonly turn: TurnGuard;
  /** The room's clock, for a tool's own deadlines (the system clock when absent). */
  readonly clock?: Clock;
}

/**
 * The tool handler protocol: dispatch by tool name, return a string (JSON by convention). A handler
 * that does not know `name` returns {@link unknownToolResult} so a composition can try the next one.
 */
export type ToolHandler = (name: string, args: ToolArgs, ctx: ToolContext) => Promise<string>;

/** A tool object: what the model is offered plus the code that answers it. */
export interface Tool {
  readonly definition: ToolDefinition;
  readonly handler: ToolHandler;
  /**
   * Whether barge-in cancels the call (default true). An uninterruptible tool (committing an order)
   * finishes after an abort and its result is committed to history; it still cannot act through
   * `ctx.turn.act` once the turn is stale.
   */
  readonly interruptible?: boolean;
  /** Per-call deadline in milliseconds (the loop's default otherwise). */
  readonly timeoutMs?: number;
  /** Set on handoff tools: the name of the agent a successful call transfers the conversation to. */
  readonly handoffTo?: string;
}

/** The result string for an error the model should see: `{"error": message, ...details}`. */
export function toolError(message: string, details: Record<string, unknown> = {}): string {
  return JSON.stringify({ error: message, ...details });
}

/** The pass-through result of a handler that does not know `name` (see `composeToolHandlers`). */
export function unknownToolResult(name: string): string {
  return JSON.stringify({ error: `Unknown tool: ${name}` });
}

/**
 * Whether a handler result is an unknown-tool error. With `name`, strictly the pass-through answer for
 * that name: exactly `{"error":"Unknown tool: NAME"}` (no other keys, same case), which is what
 * `composeToolHandlers` passes on. Without it, loosely (RoomKit: an `error` string starting
 * "unknown tool", any case), for classifying results in logs and metrics only.
 */
export function isUnknownToolResult(result: string, name?: string): boolean {
  if (!result.startsWith('{')) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(result);
  } catch {
    return false;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
  const error = (parsed as Record<string, unknown>)['error'];
  if (typeof error !== 'string') return false;
  if (name === undefined) return error.toLowerCase().startsWith('unknown tool');
  return error === `Unknown tool: ${name}` && Object.keys(parsed).length === 1;
}

/** A context for calling a tool outside a room turn (tests, scripts); fields may be overridden. */
export function createToolContext(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    callId: 'call_local',
    roomId: 'local',
    signal: new AbortController().signal,
    logger: silentLogger(),
    state: {},
    roomMetadata: {},
    turn: alwaysLive(),
    ...overrides,
  };
}

/** Whether a value is a tool object (as opposed to a plain definition). */
export function isTool(value: Tool | ToolDefinition): value is Tool {
  return 'definition' in value && typeof (value as Tool).handler === 'function';
}

/**
 * A tool object for a plain JSON Schema definition (binding metadata `tools`, MCP dicts). Its handler
 * answers unknown-tool, so the call falls through to the channel's explicit handler in a composition.
 */
export function toolFromDefinition(definition: ToolDefinition): Tool {
  const name = definition.name;
  return {
    definition: { name, description: definition.description ?? '', parameters: definition.parameters ?? { type: 'object', properties: {} } },
    handler: async () => unknownToolResult(name),
  };
}
