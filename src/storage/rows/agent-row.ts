import type { AgentSpec } from '../../config/agent-schema.ts';
import { parseJson } from '../sql/parse-json.ts';
import { searchText } from '../sql/search-pattern.ts';
import type { AgentRecord, Versioned } from '../types.ts';

/** An `agents` row as read: the name is inside the spec. */
export interface AgentRow {
  id: string;
  spec: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export const AGENT_COLUMNS = 'id, spec, version, created_at, updated_at';

export function agentFromRow(row: AgentRow): AgentRecord {
  const spec = parseJson<AgentSpec>(row.spec);
  return { id: row.id, name: spec.name, spec, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** The record a write of `spec` leaves (create or update). */
export function agentRecord(id: string, spec: AgentSpec, v: Versioned): AgentRecord {
  return { id, name: spec.name, spec, ...v };
}

/**
 * What a spec writes (create and update), in the order of the columns `name, name_key, search_text, spec`:
 * the unique name key and the search text are derived from it.
 */
export function agentValues(spec: AgentSpec): [name: string, nameKey: string, searchText: string, spec: string] {
  return [spec.name, spec.name.toLowerCase(), searchText(spec.name, spec.description), JSON.stringify(spec)];
}
