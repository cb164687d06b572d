import { errorMessage } from '../core/errors.ts';
import type { Agent, AgentRunResult } from './agent.ts';
import { unknownToolResult, type Tool } from './tool.ts';

/** Model calls a wrapped agent gets per invocation (Chatwoot AgentTool's limit). */
export const AGENT_TOOL_MAX_TURNS = 3;

export interface AgentToolOptions {
  readonly name: string;
  readonly description: string;
  /** Pick the output from the run (default: the final answer text). Empty or undefined counts as no output. */
  readonly outputExtractor?: (result: AgentRunResult) => string | undefined;
  /** Model calls allowed (default 3; never more than 3). */
  readonly maxTurns?: number;
}

/**
 * An agent wrapped as a tool (Chatwoot's AgentTool), with its four constraints:
 * 1. the wrapped agent gets an empty handoff registry: it cannot take the conversation;
 * 2. at most 3 turns (model calls) per invocation;
 * 3. it sees only the shared state (in its prompt and in its tools' `ctx.state`), never the caller's
 *    conversation history: its history is the single `input` the caller wrote;
 * 4. it always returns control: its answer is a tool result, and failures, interruptions and missing
 *    output come back as descriptive error strings, never as exceptions.
 */
export function agentAsTool(agent: Agent, options: AgentToolOptions): Tool {
  const name = options.name;
  const maxTurns = Math.max(1, Math.min(options.maxTurns ?? AGENT_TOOL_MAX_TURNS, AGENT_TOOL_MAX_TURNS));
  const isolated = agent.clone({ handoffs: [] });
  return {
    definition: {
      name,
      description: options.description,
      parameters: {
        type: 'object',
        properties: { input: { type: 'string', description: `The request for ${agent.name}, self-contained: it does not see this conversation.` } },
        required: ['input'],
      },
    },
    handler: async (called, args, ctx) => {
      if (called !== name) return unknownToolResult(called);
      const input = typeof args['input'] === 'string' ? args['input'] : JSON.stringify(args['input'] ?? '');
      let result: AgentRunResult;
      try {
        result = await isolated.run({
          history: [{ role: 'user', content: input }],
          overrides: { systemPrompt: withState(agent.instructions, ctx.state) },
          state: ctx.state,
          signal: ctx.signal,
          guard: ctx.turn,
          roomId: ctx.roomId,
          roomMetadata: ctx.roomMetadata,
          limits: { maxToolRounds: maxTurns - 1 },
          maxHandoffs: 0,
          logger: ctx.logger.child({ agentTool: agent.name }),
          ...(ctx.clock === undefined ? {} : { clock: ctx.clock }),
        });
      } catch (err) {
        return `Error: agent ${agent.name} failed: ${errorMessage(err)}`;
      }
      if (result.reason === 'error') return `Error: agent ${agent.name} failed: ${result.error?.message ?? 'unknown error'}`;
      if (result.reason === 'aborted') return `Error: agent ${agent.name} was interrupted before it answered`;
      if (result.reason === 'timeout') return `Error: agent ${agent.name} timed out before it answered`;
      let output: string | undefined;
      try {
        output = options.outputExtractor === undefined ? result.finalText : options.outputExtractor(result);
      } catch (err) {
        return `Error: could not extract the output of agent ${agent.name}: ${errorMessage(err)}`;
      }
      if (output === undefined || output.trim() === '') {
        return result.reason === 'max_tool_rounds'
          ? `Error: agent ${agent.name} produced no output within ${maxTurns} turns`
          : `Error: agent ${agent.name} produced no output`;
      }
      return output;
    },
  };
}

function withState(instructions: string, state: Record<string, unknown>): string {
  if (Object.keys(state).length === 0) return instructions;
  let json: string;
  try {
    json = JSON.stringify(state);
  } catch {
    return instructions;
  }
  return `${instructions}\n\nShared state (JSON):\n${json}`;
}
