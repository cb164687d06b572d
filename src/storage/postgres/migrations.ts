import { createHash } from 'node:crypto';
import { StorageError } from '../storage-error.ts';
import type { PgDb } from './pg-db.ts';

/**
 * PostgreSQL schema migrations, numbered as the SQLite ones (src/storage/sqlite/migrations.ts) so that both
 * databases at version N hold the same data model: 1 the tables, 2 the trigram index for tool search, 3 node
 * ids and the node registry. Each runs once, in its own transaction, recorded in `schema_migrations`.
 * Never edit a released migration: add the next one, to both lists.
 *
 * Dialect: `seq` is an identity column (insertion order, SQLite's rowid); JSON is kept as TEXT, exactly as
 * written (JSONB would refuse a `\u0000` escape that SQLite keeps, and reorder keys).
 */
export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'agents, tools, webhooks, call records, join tokens',
    sql: `
CREATE TABLE agents (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  search_text TEXT NOT NULL,
  spec TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE agent_tools (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL CHECK (type IN ('http', 'client')),
  model_name TEXT NOT NULL,
  search_text TEXT NOT NULL,
  definition TEXT NOT NULL,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX agent_tools_type ON agent_tools (type, seq);

CREATE TABLE agent_tool_assignments (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  tool_id TEXT NOT NULL REFERENCES agent_tools (id) ON DELETE RESTRICT,
  UNIQUE (agent_id, tool_id)
);
CREATE INDEX agent_tool_assignments_tool ON agent_tool_assignments (tool_id);

CREATE TABLE webhooks (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE calls (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  agent_id TEXT,
  agent_name TEXT NOT NULL,
  medium TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('starting', 'ringing', 'active', 'ended')),
  metadata TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  answered_at BIGINT,
  ended_at BIGINT,
  end_reason TEXT
);
CREATE INDEX calls_created ON calls (created_at, seq);
CREATE INDEX calls_agent ON calls (agent_id, created_at);
CREATE INDEX calls_state ON calls (state, created_at);

CREATE TABLE call_transcript (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  text TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  interrupted SMALLINT NOT NULL
);
CREATE INDEX call_transcript_call ON call_transcript (call_id, seq);

CREATE TABLE call_tool_calls (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  tool_call_id TEXT NOT NULL,
  name TEXT NOT NULL,
  started_at_ms BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  outcome TEXT NOT NULL,
  result_preview TEXT
);
CREATE INDEX call_tool_calls_call ON call_tool_calls (call_id, seq);

CREATE TABLE call_turns (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  turn BIGINT NOT NULL,
  marks TEXT NOT NULL
);
CREATE INDEX call_turns_call ON call_turns (call_id, seq);

CREATE TABLE join_token_uses (
  jti TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX join_token_uses_expiry ON join_token_uses (expires_at);
`,
  },
  {
    version: 2,
    // SQLite's FTS5 trigram table becomes a pg_trgm GIN index on the same column, which the same
    // `search_text LIKE '%...%'` uses. Where the extension cannot be created (not installed, no privilege)
    // the search still works, by scanning: the block records that and goes on.
    name: 'trigram index for tool search',
    sql: `
DO $$
DECLARE
  ext_schema TEXT;
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable (%): tool search scans agent_tools', SQLERRM;
  END;
  SELECT n.nspname INTO ext_schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  IF ext_schema IS NOT NULL THEN
    EXECUTE format('CREATE INDEX agent_tools_search_trgm ON agent_tools USING gin (search_text %I.gin_trgm_ops)', ext_schema);
  END IF;
END
$$;
`,
  },
  {
    version: 3,
    // cluster_messages holds command-bus payloads too large for a NOTIFY (8,000 bytes): the notification
    // carries the row id, the receiver deletes the row as it reads it.
    name: 'call node ids, node registry, large bus messages',
    sql: `
ALTER TABLE calls ADD COLUMN node_id TEXT;
CREATE INDEX calls_node ON calls (node_id, state);

CREATE TABLE cluster_nodes (
  id TEXT PRIMARY KEY,
  instance TEXT NOT NULL,
  public_url TEXT,
  state TEXT NOT NULL CHECK (state IN ('up', 'down')),
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

CREATE TABLE cluster_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
`,
  },
];

/** The advisory lock that serialises migrations of one schema across nodes starting at once. */
function lockKey(schema: string): string {
  // pg_advisory_lock takes a bigint: the first 8 bytes of a hash, as a signed decimal.
  return createHash('sha256').update(`callroom migrate ${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * Bring the schema up to the newest migration; refuse one written by a newer build. Nodes starting together
 * take turns under an advisory lock, so each migration runs exactly once.
 */
export async function migratePg(db: PgDb, schema: string, migrations: readonly PgMigration[] = PG_MIGRATIONS): Promise<number> {
  return db.guard('migrate', async () => {
    const client = await db.connect();
    let broken: Error | undefined;
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`).catch(async (err: unknown) => {
        // Two nodes creating the schema at the same instant: one of them loses the race, harmlessly.
        const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        if (exists.rowCount !== 1) throw err;
      });
      await client.query('SELECT pg_advisory_lock($1::bigint)', [lockKey(schema)]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
        const row = await client.query<{ v: string | null }>('SELECT MAX(version)::text AS v FROM schema_migrations');
        const current = Number(row.rows[0]?.v ?? 0);
        const newest = migrations.at(-1)?.version ?? 0;
        if (current > newest) {
          throw new StorageError('failed', `the database is at schema version ${current}, newer than this build knows (${newest}); refusing to open it`);
        }
        for (const m of migrations) {
          if (m.version <= current) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
        return newest;
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(schema)]).catch((err: unknown) => {
          broken = err instanceof Error ? err : new Error(String(err));
        });
      }
    } finally {
      client.release(broken);
    }
  });
}
