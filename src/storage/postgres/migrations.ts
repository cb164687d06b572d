import { createHash } from 'node:crypto';
import { baseTablesSql } from '../schema/base-tables.ts';
import { migrationPlan, SCHEMA_MIGRATIONS_DDL, type Migration } from '../schema/migration.ts';
import { NODE_REGISTRY_SQL } from '../schema/node-registry.ts';
import type { PgDb } from './pg-db.ts';

/**
 * PostgreSQL schema migrations, numbered as the SQLite ones (src/storage/sqlite/migrations.ts) so that both
 * databases at version N hold the same data model: 1 the tables, 2 the trigram index for tool search, 3 node
 * ids and the node registry (src/storage/schema/migration.ts: each once, never edited once released).
 *
 * Dialect: `seq` is an identity column (insertion order, SQLite's rowid); JSON is kept as TEXT, exactly as
 * written (JSONB would refuse a `\u0000` escape that SQLite keeps, and reorder keys).
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, tools, webhooks, call records, join tokens',
    sql: baseTablesSql('seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'),
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
    sql: `${NODE_REGISTRY_SQL}
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
export async function migratePg(db: PgDb, schema: string, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<number> {
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
        await client.query(SCHEMA_MIGRATIONS_DDL);
        const row = await client.query<{ v: string | null }>('SELECT MAX(version)::text AS v FROM schema_migrations');
        const { pending, newest } = migrationPlan(migrations, Number(row.rows[0]?.v ?? 0));
        for (const m of pending) {
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
