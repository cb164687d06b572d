import type { Agent } from './agent.ts';
import { unknownToolResult, type Tool } from './tool.ts';

/**
 * A handoff: a tool the model calls to transfer the conversation, with its full history, to another
 * agent, who answers from then on (OpenAI Agents / Chatwoot handoffs). Contrast with an agent used as
 * a tool, which answers one question and returns control.
 */
export interface Handoff {
  readonly agent: Agent;
  readonly toolName: string;
  readonly description: string;
}

/** `transfer_to_<snake_case name>`, the conventional handoff tool name. */
export function handoffToolName(agentName: string): string {
  const snake = agentName
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  return `transfer_to_${snake === '' ? 'agent' : snake}`;
}

/** Describe a handoff to `agent`, optionally renaming the tool or its description. */
export function handoff(agent: Agent, options: { toolName?: string; description?: string } = {}): Handoff {
  return {
    agent,
    toolName: options.toolName ?? handoffToolName(agent.name),
    description: options.description ?? `Transfer the conversation to ${agent.name}.${agent.handoffDescription ? ` ${agent.handoffDescription}` : ''}`,
  };
}

/** The tool object of a handoff: a successful call ends the current agent's loop with `handoffTo`. */
export function handoffTool(h: Handoff): Tool {
  const name = h.toolName;
  return {
    definition: { name, description: h.description, parameters: { type: 'object', properties: {} } },
    handoffTo: h.agent.name,
    handler: async (called) => (called === name ? JSON.stringify({ assistant: h.agent.name, status: 'transferred' }) : unknownToolResult(called)),
  };
}
