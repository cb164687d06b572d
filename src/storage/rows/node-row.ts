import type { NodeRecord, NodeState } from '../types.ts';

/** A `cluster_nodes` row as read (its `instance` is read only where a registration checks it). */
export interface NodeRow {
  id: string;
  public_url: string | null;
  state: NodeState;
  started_at: number;
  heartbeat_at: number;
}

export const NODE_COLUMNS = 'id, public_url, state, started_at, heartbeat_at';

export function nodeFromRow(row: NodeRow): NodeRecord {
  return { id: row.id, publicUrl: row.public_url, state: row.state, startedAt: row.started_at, heartbeatAt: row.heartbeat_at };
}
