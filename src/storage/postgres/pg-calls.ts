import type { CallRecord, CallSummary, NewCallRecord, ToolCallEntry, TranscriptEntry, TurnTiming } from '../call-record.ts';
import { CALL_COLUMNS, callFromRow, newCallValues, type CallRow } from '../rows/call-row.ts';
import { TOOL_CALL_COLUMNS, toolCallFromRow, toolCallValues, type ToolCallRow } from '../rows/call-tool-call-row.ts';
import { TRANSCRIPT_COLUMNS, transcriptFromRow, transcriptValues, type TranscriptRow } from '../rows/call-transcript-row.ts';
import { TURN_COLUMNS, turnFromRow, turnValues, type TurnRow } from '../rows/call-turn-row.ts';
import { callListConditions } from '../sql/call-list-filter.ts';
import { limitOffset, pageTotal } from '../sql/paging.ts';
import { parseJson } from '../sql/parse-json.ts';
import { isStorageError, StorageError } from '../storage-error.ts';
import type { CallListQuery, CallStore, Page } from '../types.ts';
import type { Params, PgDb } from './pg-db.ts';

/**
 * Call records: one `calls` row updated in place for state and times; transcript entries, tool calls and
 * turns are rows of their own tables, so each append is one INSERT however long the call runs. Every node
 * writes the records of the calls it holds; any node reads all of them.
 */
export class PgCallStore implements CallStore {
  readonly #db: PgDb;
  readonly #nodeId: string;

  /** `nodeId`: written into records created without one (the node this storage belongs to). */
  constructor(db: PgDb, nodeId: string) {
    this.#db = db;
    this.#nodeId = nodeId;
  }

  async create(call: NewCallRecord): Promise<void> {
    await this.#db.guard(`call ${call.id}`, () =>
      this.#db.run(`INSERT INTO calls (${CALL_COLUMNS}) VALUES ($1, $2, $3, $4, 'starting', $5, $6, NULL, NULL, NULL, $7)`, newCallValues(call, this.#nodeId)),
    );
  }

  async markRinging(callId: string): Promise<void> {
    await this.#update(callId, "UPDATE calls SET state = 'ringing' WHERE id = $1 AND state = 'starting'", [callId]);
  }

  async markAnswered(callId: string, at: number): Promise<void> {
    await this.#update(callId, "UPDATE calls SET state = 'active', answered_at = $1 WHERE id = $2 AND state IN ('starting', 'ringing')", [at, callId]);
  }

  async markEnded(callId: string, at: number, endReason: string): Promise<void> {
    await this.#update(callId, "UPDATE calls SET state = 'ended', ended_at = $1, end_reason = $2 WHERE id = $3 AND state <> 'ended'", [at, endReason, callId]);
  }

  async appendTranscript(callId: string, entry: TranscriptEntry): Promise<void> {
    await this.#append(callId, 'transcript', 'INSERT INTO call_transcript (call_id, role, text, at_ms, interrupted) VALUES ($1, $2, $3, $4, $5)', [
      callId,
      ...transcriptValues(entry),
    ]);
  }

  async appendToolCall(callId: string, entry: ToolCallEntry): Promise<void> {
    await this.#append(
      callId,
      'tool call',
      'INSERT INTO call_tool_calls (call_id, tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [callId, ...toolCallValues(entry)],
    );
  }

  async appendTurn(callId: string, turn: TurnTiming): Promise<void> {
    await this.#append(callId, 'turn', 'INSERT INTO call_turns (call_id, turn, marks) VALUES ($1, $2, $3)', [callId, ...turnValues(turn)]);
  }

  async setMetadata(callId: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    await this.#db.guard(`call ${callId} metadata`, () =>
      this.#db.tx(async (q) => {
        const row = await q.row<{ metadata: string }>('SELECT metadata FROM calls WHERE id = $1 FOR UPDATE', [callId]);
        if (row === undefined) throw notFound(callId);
        const merged = { ...parseJson<Record<string, string>>(row.metadata), ...metadata };
        await q.run('UPDATE calls SET metadata = $1 WHERE id = $2', [JSON.stringify(merged), callId]);
      }),
    );
  }

  async get(callId: string): Promise<CallRecord | undefined> {
    return this.#db.guard('get call', async () => {
      // One snapshot for the row and its appends: REPEATABLE READ, read only.
      const client = await this.#db.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const row = (await client.query<CallRow>(`SELECT ${CALL_COLUMNS} FROM calls WHERE id = $1`, [callId])).rows[0];
        if (row === undefined) {
          await client.query('COMMIT');
          return undefined;
        }
        const [t, tc, tu] = [
          await client.query<TranscriptRow>(`SELECT ${TRANSCRIPT_COLUMNS} FROM call_transcript WHERE call_id = $1 ORDER BY seq`, [callId]),
          await client.query<ToolCallRow>(`SELECT ${TOOL_CALL_COLUMNS} FROM call_tool_calls WHERE call_id = $1 ORDER BY seq`, [callId]),
          await client.query<TurnRow>(`SELECT ${TURN_COLUMNS} FROM call_turns WHERE call_id = $1 ORDER BY seq`, [callId]),
        ];
        await client.query('COMMIT');
        const transcript = t.rows.map(transcriptFromRow);
        const toolCalls = tc.rows.map(toolCallFromRow);
        const turns = tu.rows.map(turnFromRow);
        return { ...callFromRow(row), transcript, toolCalls, turns };
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  async list(query: CallListQuery): Promise<Page<CallSummary>> {
    return this.#db.guard('list calls', async () => {
      const conditions = callListConditions(query);
      const params = conditions.map((c) => c.value);
      // Each condition's `?` becomes its parameter's number.
      const where = conditions.map((c, i) => c.sql.replace('?', `$${i + 1}`));
      const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
      const [limit, offset] = limitOffset(query);
      const rows = await this.#db.rows<CallRow>(
        `SELECT ${CALL_COLUMNS} FROM calls ${clause} ORDER BY created_at DESC, seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      );
      const total = await pageTotal(rows.length, query, async () => (await this.#db.row<{ n: number }>(`SELECT COUNT(*) AS n FROM calls ${clause}`, params))?.n ?? 0);
      return { items: rows.map(callFromRow), total };
    });
  }

  /** One INSERT into an append table; the foreign key refuses an unknown call. */
  async #append(callId: string, what: string, sql: string, params: Params): Promise<void> {
    try {
      await this.#db.guard(`call ${callId} ${what}`, () => this.#db.run(sql, params));
    } catch (err) {
      throw isStorageError(err, 'not_found') ? notFound(callId) : err;
    }
  }

  /** An UPDATE guarded by state: no row changed is fine for a known call, an error for an unknown one. */
  async #update(callId: string, sql: string, params: Params): Promise<void> {
    await this.#db.guard(`call ${callId}`, async () => {
      if ((await this.#db.run(sql, params)) > 0) return;
      if ((await this.#db.row('SELECT 1 AS x FROM calls WHERE id = $1', [callId])) === undefined) throw notFound(callId);
    });
  }
}

function notFound(callId: string): StorageError {
  return new StorageError('not_found', `call ${callId} does not exist`, { missing: [callId] });
}
