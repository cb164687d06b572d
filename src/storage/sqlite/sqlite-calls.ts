import type {
  CallMediumInfo,
  CallRecord,
  CallState,
  CallSummary,
  NewCallRecord,
  ToolCallEntry,
  ToolCallOutcome,
  TranscriptEntry,
  TurnMark,
  TurnTiming,
} from '../call-record.ts';
import { isStorageError, StorageError } from '../storage-error.ts';
import type { CallListQuery, CallStore, Page } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { limitOffset, parseJson, totalOf } from './sql-helpers.ts';

interface CallRow {
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

const COLUMNS = 'id, agent_id, agent_name, medium, state, metadata, created_at, answered_at, ended_at, end_reason, node_id';

function fromRow(row: CallRow): CallSummary {
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
 * Call records: one `calls` row updated in place for state and times; transcript entries, tool calls and
 * turns are rows of their own tables, so each append is one INSERT however long the call runs.
 */
export class SqliteCallStore implements CallStore {
  readonly #db: SqliteDb;
  readonly #nodeId: string;

  /** `nodeId`: written into records created without one (the node this storage belongs to). */
  constructor(db: SqliteDb, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  async create(call: NewCallRecord): Promise<void> {
    this.#db.guard(`call ${call.id}`, () => {
      this.#db.run(
        `INSERT INTO calls (${COLUMNS}) VALUES (?, ?, ?, ?, 'starting', ?, ?, NULL, NULL, NULL, ?)`,
        call.id,
        call.agentId,
        call.agentName,
        JSON.stringify(call.medium),
        JSON.stringify(call.metadata ?? {}),
        call.createdAt,
        call.nodeId ?? this.#nodeId,
      );
    });
  }

  async markRinging(callId: string): Promise<void> {
    this.#update(callId, "UPDATE calls SET state = 'ringing' WHERE id = ? AND state = 'starting'", callId);
  }

  async markAnswered(callId: string, at: number): Promise<void> {
    this.#update(callId, "UPDATE calls SET state = 'active', answered_at = ? WHERE id = ? AND state IN ('starting', 'ringing')", at, callId);
  }

  async markEnded(callId: string, at: number, endReason: string): Promise<void> {
    this.#update(callId, "UPDATE calls SET state = 'ended', ended_at = ?, end_reason = ? WHERE id = ? AND state <> 'ended'", at, endReason, callId);
  }

  async appendTranscript(callId: string, entry: TranscriptEntry): Promise<void> {
    this.#append(callId, 'transcript', () => {
      this.#db.run(
        'INSERT INTO call_transcript (call_id, role, text, at_ms, interrupted) VALUES (?, ?, ?, ?, ?)',
        callId,
        entry.role,
        entry.text,
        entry.atMs,
        entry.interrupted === true ? 1 : 0,
      );
    });
  }

  async appendToolCall(callId: string, entry: ToolCallEntry): Promise<void> {
    this.#append(callId, 'tool call', () => {
      this.#db.run(
        'INSERT INTO call_tool_calls (call_id, tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview) VALUES (?, ?, ?, ?, ?, ?, ?)',
        callId,
        entry.toolCallId,
        entry.name,
        entry.startedAtMs,
        entry.durationMs,
        entry.outcome,
        entry.resultPreview ?? null,
      );
    });
  }

  async appendTurn(callId: string, turn: TurnTiming): Promise<void> {
    this.#append(callId, 'turn', () => {
      this.#db.run('INSERT INTO call_turns (call_id, turn, marks) VALUES (?, ?, ?)', callId, turn.turn, JSON.stringify(turn.marks));
    });
  }

  async setMetadata(callId: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    this.#db.guard(`call ${callId} metadata`, () =>
      this.#db.tx(() => {
        const row = this.#db.get<{ metadata: string }>('SELECT metadata FROM calls WHERE id = ?', callId);
        if (row === undefined) throw notFound(callId);
        const merged = { ...parseJson<Record<string, string>>(row.metadata), ...metadata };
        this.#db.run('UPDATE calls SET metadata = ? WHERE id = ?', JSON.stringify(merged), callId);
      }),
    );
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    return this.#db.guard('get call', () => {
      const row = this.#db.get<CallRow>(`SELECT ${COLUMNS} FROM calls WHERE id = ?`, callId);
      if (row === undefined) return undefined;
      const transcript = this.#db
        .all<{ role: TranscriptEntry['role']; text: string; at_ms: number; interrupted: number }>(
          'SELECT role, text, at_ms, interrupted FROM call_transcript WHERE call_id = ? ORDER BY seq',
          callId,
        )
        .map((r): TranscriptEntry => ({ role: r.role, text: r.text, atMs: r.at_ms, ...(r.interrupted === 1 ? { interrupted: true } : {}) }));
      const toolCalls = this.#db
        .all<{ tool_call_id: string; name: string; started_at_ms: number; duration_ms: number; outcome: ToolCallOutcome; result_preview: string | null }>(
          'SELECT tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview FROM call_tool_calls WHERE call_id = ? ORDER BY seq',
          callId,
        )
        .map(
          (r): ToolCallEntry => ({
            toolCallId: r.tool_call_id,
            name: r.name,
            startedAtMs: r.started_at_ms,
            durationMs: r.duration_ms,
            outcome: r.outcome,
            ...(r.result_preview === null ? {} : { resultPreview: r.result_preview }),
          }),
        );
      const turns = this.#db
        .all<{ turn: number; marks: string }>('SELECT turn, marks FROM call_turns WHERE call_id = ? ORDER BY seq', callId)
        .map((r): TurnTiming => ({ turn: r.turn, marks: parseJson<TurnMark[]>(r.marks) }));
      return { ...fromRow(row), transcript, toolCalls, turns };
    });
  }

  async list(query: CallListQuery): Promise<Page<CallSummary>> {
    return this.#db.guard('list calls', () => {
      const where: string[] = [];
      const params: Array<string | number> = [];
      if (query.state !== undefined) {
        where.push('state = ?');
        params.push(query.state);
      }
      if (query.agentId !== undefined) {
        where.push('agent_id = ?');
        params.push(query.agentId);
      }
      if (query.since !== undefined) {
        where.push('created_at >= ?');
        params.push(query.since);
      }
      if (query.until !== undefined) {
        where.push('created_at < ?');
        params.push(query.until);
      }
      const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
      const rows = this.#db.all<CallRow>(
        `SELECT ${COLUMNS} FROM calls ${clause} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`,
        ...params,
        ...limitOffset(query),
      );
      const total = totalOf(rows.length, query, () => this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM calls ${clause}`, ...params)?.n ?? 0);
      return { items: rows.map(fromRow), total };
    });
  }

  /** One INSERT into an append table; the foreign key refuses an unknown call. */
  #append(callId: string, what: string, fn: () => void): void {
    try {
      this.#db.guard(`call ${callId} ${what}`, fn);
    } catch (err) {
      throw isStorageError(err, 'not_found') ? notFound(callId) : err;
    }
  }

  /** An UPDATE guarded by state: no row changed is fine for a known call, an error for an unknown one. */
  #update(callId: string, sql: string, ...params: Array<string | number>): void {
    this.#db.guard(`call ${callId}`, () => {
      if (this.#db.run(sql, ...params).changes > 0) return;
      if (this.#db.get('SELECT 1 AS x FROM calls WHERE id = ?', callId) === undefined) throw notFound(callId);
    });
  }
}

function notFound(callId: string): StorageError {
  return new StorageError('not_found', `call ${callId} does not exist`, { missing: [callId] });
}
