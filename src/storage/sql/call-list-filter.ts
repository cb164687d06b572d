import type { CallListQuery } from '../types.ts';

/** One condition of a WHERE clause: SQL with a single `?` for its value (PostgreSQL numbers it). */
export interface Condition {
  readonly sql: string;
  readonly value: string | number;
}

/** The conditions on `calls` that a call list query asks for, in a fixed order (all ANDed). */
export function callListConditions(query: CallListQuery): Condition[] {
  const out: Condition[] = [];
  if (query.state !== undefined) out.push({ sql: 'state = ?', value: query.state });
  if (query.agentId !== undefined) out.push({ sql: 'agent_id = ?', value: query.agentId });
  if (query.since !== undefined) out.push({ sql: 'created_at >= ?', value: query.since });
  if (query.until !== undefined) out.push({ sql: 'created_at < ?', value: query.until });
  return out;
}
