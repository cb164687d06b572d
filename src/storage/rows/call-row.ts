import type { CallMediumInfo, CallState, CallSummary, NewCallRecord } from '../call-record.ts';
import { parseJson } from '../sql/parse-json.ts';

/** A `calls` row: state and times, updated in place as the call goes. */
export interface CallRow {
  id: string;
  agent_id: string | null;
  agent_name: string;
  medium: string;
  state: CallState;
  metadata: string;
  created_at: number;
  answered_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  node_id: string | null;
}

export const CALL_COLUMNS = 'id, agent_id, agent_name, medium, state, metadata, created_at, answered_at, ended_at, end_reason, node_id';

export function callFromRow(row: CallRow): CallSummary {
  return {
    id: row.id,
    agentId: row.agent_id,
    agentName: row.agent_name,
    medium: parseJson<CallMediumInfo>(row.medium),
    state: row.state,
    metadata: parseJson<Record<string, string>>(row.metadata),
    createdAt: row.created_at,
    answeredAt: row.answered_at,
    endedAt: row.ended_at,
    endReason: row.end_reason,
    nodeId: row.node_id,
  };
}

/**
 * What a new call writes, in the order of {@link CALL_COLUMNS} without the ones it starts with fixed (state
 * `starting`; answered_at, ended_at, end_reason NULL): `id, agent_id, agent_name, medium, metadata, created_at,
 * node_id`. `nodeId`: the node written where the call names none (the storage's own).
 */
export function newCallValues(
  call: NewCallRecord,
  nodeId: string,
): [id: string, agentId: string | null, agentName: string, medium: string, metadata: string, createdAt: number, nodeId: string] {
  return [call.id, call.agentId, call.agentName, JSON.stringify(call.medium), JSON.stringify(call.metadata ?? {}), call.createdAt, call.nodeId ?? nodeId];
}
