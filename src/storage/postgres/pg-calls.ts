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
import { limitOffset, parseJson } from '../sqlite/sql-helpers.ts';
import type { Params, PgDb } from './pg-db.ts';
import { pageTotal } from './pg-paging.ts';

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
      this.#db.run(`INSERT INTO calls (${COLUMNS}) VALUES ($1, $2, $3, $4, 'starting', $5, $6, NULL, NULL, NULL, $7)`, [
        call.id,
        call.agentId,
        call.agentName,
        JSON.stringify(call.medium),
        JSON.stringify(call.metadata ?? {}),
        call.createdAt,
        call.nodeId ?? this.#nodeId,
      ]),
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
      entry.role,
      entry.text,
      entry.atMs,
      entry.interrupted === true ? 1 : 0,
    ]);
  }

  async appendToolCall(callId: string, entry: ToolCallEntry): Promise<void> {
    await this.#append(
      callId,
      'tool call',
      'INSERT INTO call_tool_calls (call_id, tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [callId, entry.toolCallId, entry.name, entry.startedAtMs, entry.durationMs, entry.outcome, entry.resultPreview ?? null],
    );
  }

  async appendTurn(callId: string, turn: TurnTiming): Promise<void> {
    await this.#append(callId, 'turn', 'INSERT INTO call_turns (call_id, turn, marks) VALUES ($1, $2, $3)', [callId, turn.turn, JSON.stringify(turn.marks)]);
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
        const row = (await client.query<CallRow>(`SELECT ${COLUMNS} FROM calls WHERE id = $1`, [callId])).rows[0];
        if (row === undefined) {
          await client.query('COMMIT');
          return undefined;
        }
        const [t, tc, tu] = [
          await client.query<{ role: TranscriptEntry['role']; text: string; at_ms: number; interrupted: number }>(
            'SELECT role, text, at_ms, interrupted FROM call_transcript WHERE call_id = $1 ORDER BY seq',
            [callId],
          ),
          await client.query<{ tool_call_id: string; name: string; started_at_ms: number; duration_ms: number; outcome: ToolCallOutcome; result_preview: string | null }>(
            'SELECT tool_call_id, name, started_at_ms, duration_ms, outcome, result_preview FROM call_tool_calls WHERE call_id = $1 ORDER BY seq',
            [callId],
          ),
          await client.query<{ turn: number; marks: string }>('SELECT turn, marks FROM call_turns WHERE call_id = $1 ORDER BY seq', [callId]),
        ];
        await client.query('COMMIT');
        const transcript = t.rows.map((r): TranscriptEntry => ({ role: r.role, text: r.text, atMs: r.at_ms, ...(r.interrupted === 1 ? { interrupted: true } : {}) }));
        const toolCalls = tc.rows.map(
          (r): ToolCallEntry => ({
            toolCallId: r.tool_call_id,
            name: r.name,
            startedAtMs: r.started_at_ms,
            durationMs: r.duration_ms,
            outcome: r.outcome,
            ...(r.result_preview === null ? {} : { resultPreview: r.result_preview }),
          }),
        );
        const turns = tu.rows.map((r): TurnTiming => ({ turn: r.turn, marks: parseJson<TurnMark[]>(r.marks) }));
        return { ...fromRow(row), transcript, toolCalls, turns };
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
      const where: string[] = [];
      const params: Array<string | number> = [];
      const add = (sql: string, value: string | number): void => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      if (query.state !== undefined) add('state = ?', query.state);
      if (query.agentId !== undefined) add('agent_id = ?', query.agentId);
      if (query.since !== undefined) add('created_at >= ?', query.since);
      if (query.until !== undefined) add('created_at < ?', query.until);
      const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
      const [limit, offset] = limitOffset(query);
      const rows = await this.#db.rows<CallRow>(
        `SELECT ${COLUMNS} FROM calls ${clause} ORDER BY created_at DESC, seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, limit, offset],
      );
      const total = await pageTotal(rows.length, query, async () => (await this.#db.row<{ n: number }>(`SELECT COUNT(*) AS n FROM calls ${clause}`, params))?.n ?? 0);
      return { items: rows.map(fromRow), total };
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
