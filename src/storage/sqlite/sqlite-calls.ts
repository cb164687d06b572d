import type { CallRecord, CallSummary, NewCallRecord, ToolCallEntry, TranscriptEntry, TurnTiming } from '../call-record.ts';
import { CALL_COLUMNS, callFromRow, newCallValues, type CallRow } from '../rows/call-row.ts';
import { TOOL_CALL_COLUMNS, toolCallFromRow, toolCallValues, type ToolCallRow } from '../rows/call-tool-call-row.ts';
import { TRANSCRIPT_COLUMNS, transcriptFromRow, transcriptValues, type TranscriptRow } from '../rows/call-transcript-row.ts';
import { TURN_COLUMNS, turnFromRow, turnValues, type TurnRow } from '../rows/call-turn-row.ts';
import { callListConditions } from '../sql/call-list-filter.ts';
import { limitOffset, totalOf } from '../sql/paging.ts';
import { parseJson } from '../sql/parse-json.ts';
import { isStorageError, StorageError } from '../storage-error.ts';
import type { CallListQuery, CallStore, Page } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';

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
      this.#db.run(`INSERT INTO calls (${CALL_COLUMNS}) VALUES (?, ?, ?, ?, 'starting', ?, ?, NULL, NULL, NULL, ?)`, ...newCallValues(call, this.#nodeId));
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
      this.#db.run('INSERT INTO call_transcript (call_id, role, text, at_ms, interrupted) VALUES (?, ?, ?, ?, ?)', callId, ...transcriptValues(entry));
    });
  }

  async appendToolCall(callId: string, entry: ToolCallEntry): Promise<void> {
    this.#append(callId, 'tool call', () => {
      this.#db.run(
        'INSERT INTO call_tool_calls (call_id, tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview) VALUES (?, ?, ?, ?, ?, ?, ?)',
        callId,
        ...toolCallValues(entry),
      );
    });
  }

  async appendTurn(callId: string, turn: TurnTiming): Promise<void> {
    this.#append(callId, 'turn', () => {
      this.#db.run('INSERT INTO call_turns (call_id, turn, marks) VALUES (?, ?, ?)', callId, ...turnValues(turn));
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
      const row = this.#db.get<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = ?`, callId);
      if (row === undefined) return undefined;
      const transcript = this.#db
        .all<TranscriptRow>(`SELECT ${TRANSCRIPT_COLUMNS} FROM call_transcript WHERE call_id = ? ORDER BY seq`, callId)
        .map(transcriptFromRow);
      const toolCalls = this.#db
        .all<ToolCallRow>(`SELECT ${TOOL_CALL_COLUMNS} FROM call_tool_calls WHERE call_id = ? ORDER BY seq`, callId)
        .map(toolCallFromRow);
      const turns = this.#db.all<TurnRow>(`SELECT ${TURN_COLUMNS} FROM call_turns WHERE call_id = ? ORDER BY seq`, callId).map(turnFromRow);
      return { ...callFromRow(row), transcript, toolCalls, turns };
    });
  }

  async list(query: CallListQuery): Promise<Page<CallSummary>> {
    return this.#db.guard('list calls', () => {
      const conditions = callListConditions(query);
      const params = conditions.map((c) => c.value);
      const clause = conditions.length === 0 ? '' : `WHERE ${conditions.map((c) => c.sql).join(' AND ')}`;
      const rows = this.#db.all<CallRow>(
        `SELECT ${CALL_COLUMNS} FROM calls ${clause} ORDER BY created_at DESC, seq DESC LIMIT ? OFFSET ?`,
        ...params,
        ...limitOffset(query),
      );
      const total = totalOf(rows.length, query, () => this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM calls ${clause}`, ...params)?.n ?? 0);
      return { items: rows.map(callFromRow), total };
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
