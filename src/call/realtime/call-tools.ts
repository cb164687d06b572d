/**
 * The tools a speech-to-speech call offers its model, composed as a cascade call composes them: the
 * agent's own tools (HTTP, MCP, ...) first, then the call's room tools (`callRoomTools`: the system tools
 * acting on this call and the agent's client tools answered through the call's `ClientToolPort`), with the
 * agent's explicit handler behind them. A name given twice keeps its first tool, as `Agent.toolSet` does.
 */
import type { ClientToolConnection } from '../../room/client-tool.ts';
import { ToolSet } from '../../room/tool-set.ts';
import type { AgentRuntime } from '../agent-runtime.ts';
import { callRoomTools } from '../room-tools.ts';
import type { CallControlPort } from '../system-tools.ts';

export function callTools(agent: AgentRuntime, clientTools: ClientToolConnection, control: CallControlPort): ToolSet {
  return new ToolSet([...agent.tools, ...callRoomTools(agent, clientTools, control)], agent.toolHandler);
}
