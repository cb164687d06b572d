import { parseJson } from '../sql/parse-json.ts';
import { searchText } from '../sql/search-pattern.ts';
import type { AgentToolDefinition, AgentToolRecord, NewAgentTool, Versioned } from '../types.ts';

/** An `agent_tools` row as read. */
export interface ToolRow {
  id: string;
  name: string;
  type: 'http' | 'client';
  definition: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export const TOOL_COLUMNS = 'id, name, type, definition, version, created_at, updated_at';

/** {@link TOOL_COLUMNS} of `agent_tools` under an alias in a join (`t.id, t.name, ...`). */
export function toolColumnsOf(alias: string): string {
  return TOOL_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

export function toolFromRow(row: ToolRow): AgentToolRecord {
  const base = { id: row.id, name: row.name, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
  return { ...base, ...({ type: row.type, definition: parseJson(row.definition) } as AgentToolDefinition) };
}

/** The record a write of `tool` leaves (create or update). */
export function toolRecord(id: string, tool: NewAgentTool, v: Versioned): AgentToolRecord {
  return { id, name: tool.name, ...v, ...tool.tool };
}

/**
 * What a tool writes besides its `type` (which cannot change), in the order of the columns
 * `name, name_key, model_name, search_text, definition`: the unique name key, the model's tool name and the
 * search text (name, model name, description) are derived from it.
 */
export function toolValues(tool: NewAgentTool): [name: string, nameKey: string, modelName: string, searchText: string, definition: string] {
  const definition = tool.tool.definition;
  return [tool.name, tool.name.toLowerCase(), definition.name, searchText(tool.name, definition.name, definition.description), JSON.stringify(definition)];
}
