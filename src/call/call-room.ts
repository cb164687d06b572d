/**
 * A cascade call's room: its own `RoomKit` (one per call, closed with it), the agent as the room's AI
 * channel (model, tools, policy, loop limits from the spec), the call's room tools, and the call's values
 * as room metadata (for automatic tool parameters: `call.id`, `call.from`, ...).
 */
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { AiChannel } from '../room/ai-channel.ts';
import { Agent } from '../room/agent.ts';
import { RoomKit } from '../room/room-kit.ts';
import type { Tool } from '../room/tool.ts';
import type { AgentRuntime } from './agent-runtime.ts';
import type { CallOrigin } from './call-leg.ts';

export interface CallRoom {
  readonly kit: RoomKit;
  readonly roomId: string;
}

export function createCallRoom(o: {
  callId: string;
  agent: AgentRuntime;
  origin: CallOrigin;
  medium: string;
  roomTools: readonly Tool[];
  clock: Clock;
  logger: Logger;
}): CallRoom {
  const { agent } = o;
  const spec = agent.spec;
  const kit = new RoomKit({ logger: o.logger, clock: o.clock });
  const llmAgent = new Agent({
    name: spec.name,
    instructions: spec.systemPrompt,
    provider: agent.llm,
    tools: agent.tools,
    ...(agent.toolHandler === undefined ? {} : { toolHandler: agent.toolHandler }),
    toolPolicy: agent.policy,
    limits: spec.loop,
    toolTimeoutMs: spec.tools.timeoutMs,
    ...(spec.llm.temperature === undefined ? {} : { temperature: spec.llm.temperature }),
    ...(spec.llm.maxTokens === undefined ? {} : { maxTokens: spec.llm.maxTokens }),
    ...(spec.llm.model === undefined ? {} : { model: spec.llm.model }),
  });
  kit.registerChannel(new AiChannel({ id: 'agent', agent: llmAgent }));
  const room = kit.createRoom({
    id: o.callId,
    metadata: { 'call.id': o.callId, 'call.from': o.origin.from, 'call.to': o.origin.to, 'call.medium': o.medium, 'agent.name': spec.name },
  });
  kit.attachChannel(room.id, 'agent', { category: 'intelligence', tools: o.roomTools });
  return { kit, roomId: room.id };
}
