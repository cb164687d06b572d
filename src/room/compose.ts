import type { ToolHandler } from './tool.ts';
import { isUnknownToolResult } from './tool.ts';

/**
 * Chain tool handlers so the first that handles a tool wins (RoomKit `compose_tool_handlers`). A
 * handler that answers `{"error":"Unknown tool: NAME"}` passes the call to the next one; any other
 * result, errors included, is final. The last handler's answer is returned as is, so an unknown tool
 * still reaches the model as the unknown-tool error.
 */
export function composeToolHandlers(...handlers: ToolHandler[]): ToolHandler {
  if (handlers.length === 0) throw new RangeError('composeToolHandlers needs at least one handler');
  if (handlers.length === 1) return handlers[0] as ToolHandler;
  return async (name, args, ctx) => {
    let result = '';
    for (const handler of handlers) {
      result = await handler(name, args, ctx);
      if (!isUnknownToolResult(result)) return result;
    }
    return result;
  };
}
