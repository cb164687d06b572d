import type { ToolHandler } from './tool.ts';
import { isUnknownToolResult } from './tool.ts';

/**
 * Chain tool handlers so the first that handles a tool wins (RoomKit `compose_tool_handlers`). Only
 * the exact pass-through answer for the called name, `{"error":"Unknown tool: NAME"}` (see
 * `unknownToolResult`), passes the call to the next handler. Anything else is final: any other error
 * (`{"error":"unknown tool version"}`, an unknown-tool error naming another tool, one with extra keys)
 * is that handler's answer, so a failing handler can never be silently replaced by a later one. The
 * last handler's answer is returned as is, so an unknown tool still reaches the model as the
 * unknown-tool error.
 */
export function composeToolHandlers(...handlers: ToolHandler[]): ToolHandler {
  if (handlers.length === 0) throw new RangeError('composeToolHandlers needs at least one handler');
  if (handlers.length === 1) return handlers[0] as ToolHandler;
  return async (name, args, ctx) => {
    let result = '';
    for (const handler of handlers) {
      result = await handler(name, args, ctx);
      if (!isUnknownToolResult(result, name)) return result;
    }
    return result;
  };
}
