/**
 * The tools a speech-to-speech call offers its model, composed as a cascade call composes them: the
 * agent's own tools (HTTP, MCP, ...) first, then the call's room tools — the system tools acting on this
 * call (hangUp, transferCall, playDtmf) and the agent's client tools answered through the call's
 * `ClientToolPort` (the WebSocket client, or the application on a SIP call's control socket) — with the
 * agent's explicit handler behind them. A name given twice keeps its first tool, as `Agent.toolSet` does.
 */
import { clientTool } from '../../room/client-tool.ts';
import type { ClientToolConnection } from '../../room/client-tool.ts';
import type { Tool } from '../../room/tool.ts';
import { ToolSet } from '../../room/tool-set.ts';
import type { AgentRuntime } from '../agent-runtime.ts';
import { systemTools, type CallControlPort } from '../system-tools.ts';

export function callTools(agent: AgentRuntime, clientTools: ClientToolConnection, control: CallControlPort): ToolSet {
  const spec = agent.spec;
  const room: Tool[] = [
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
  return new ToolSet([...agent.tools, ...room], agent.toolHandler);
}
