/**
 * The tools a call adds to its agent's own: the system tools acting on this call (hangUp, transferCall,
 * playDtmf, through a narrow port) and the agent's client tools, answered through the call's client-tool
 * connection (the WebSocket client, or the application on a SIP call's control socket). Cascade and
 * speech-to-speech calls offer the same ones.
 */
import type { AgentRuntime } from './agent-runtime.ts';
import { clientTool, type ClientToolConnection } from '../room/client-tool.ts';
import type { Tool } from '../room/tool.ts';
import { systemTools, type CallControlPort } from './system-tools.ts';

export function callRoomTools(agent: AgentRuntime, clientTools: ClientToolConnection, control: CallControlPort): Tool[] {
  const spec = agent.spec;
  return [
    ...systemTools(spec.tools.system, control),
    ...spec.tools.client.map((t) =>
      clientTool(
        {
          name: t.name,
          description: t.description,
          dynamicParameters: t.dynamicParameters.map((p) => ({ ...p, location: 'body' as const })),
          ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
          interruptible: t.interruptible,
        },
        clientTools,
      ),
    ),
  ];
}
