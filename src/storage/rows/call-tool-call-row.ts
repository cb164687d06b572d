import type { ToolCallEntry, ToolCallOutcome } from '../call-record.ts';

/** A `call_tool_calls` row: one tool call appended to a call (keyed by `call_id`, read back in `seq` order). */
export interface ToolCallRow {
  tool_call_id: string;
  name: string;
  started_at_ms: number;
  duration_ms: number;
  outcome: ToolCallOutcome;
  result_preview: string | null;
}

export const TOOL_CALL_COLUMNS = 'tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview';

export function toolCallFromRow(r: ToolCallRow): ToolCallEntry {
  return {
    toolCallId: r.tool_call_id,
    name: r.name,
    startedAtMs: r.started_at_ms,
    durationMs: r.duration_ms,
    outcome: r.outcome,
    ...(r.result_preview === null ? {} : { resultPreview: r.result_preview }),
  };
}

/** What a tool call writes, in the order of {@link TOOL_CALL_COLUMNS}. */
export function toolCallValues(
  entry: ToolCallEntry,
): [toolCallId: string, name: string, startedAtMs: number, durationMs: number, outcome: string, resultPreview: string | null] {
  return [entry.toolCallId, entry.name, entry.startedAtMs, entry.durationMs, entry.outcome, entry.resultPreview ?? null];
}
