import { baseTablesSql } from '../schema/base-tables.ts';
import { migrationPlan, SCHEMA_MIGRATIONS_DDL, type Migration } from '../schema/migration.ts';
import { NODE_REGISTRY_SQL } from '../schema/node-registry.ts';
import type { SqliteDb } from './sqlite-db.ts';

/**
 * SQLite schema migrations, in order (src/storage/schema/migration.ts: numbered as the PostgreSQL ones,
 * each once, never edited once released). The tables and the node registry are the DDL both dialects read
 * (src/storage/schema/); here `seq` is `INTEGER PRIMARY KEY`, the rowid (an identity column in PostgreSQL),
 * and migration 2 is SQLite's own (FTS5).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, tools, webhooks, call records, join tokens',
    sql: baseTablesSql('seq INTEGER PRIMARY KEY'),
  },
  {
    version: 2,
    // SQLite-only (FTS5): a substring search over 10,000 tools is an index look-up instead of a scan. The
    // PostgreSQL equivalent is a pg_trgm GIN index on agent_tools.search_text, used by the same LIKE.
    name: 'trigram index for tool search',
    sql: `
CREATE VIRTUAL TABLE agent_tools_search USING fts5 (search_text, content = 'agent_tools', content_rowid = 'seq', tokenize = 'trigram');
INSERT INTO agent_tools_search (rowid, search_text) SELECT seq, search_text FROM agent_tools;
CREATE TRIGGER agent_tools_search_insert AFTER INSERT ON agent_tools BEGIN
  INSERT INTO agent_tools_search (rowid, search_text) VALUES (new.seq, new.search_text);
END;
CREATE TRIGGER agent_tools_search_delete AFTER DELETE ON agent_tools BEGIN
  INSERT INTO agent_tools_search (agent_tools_search, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
END;
CREATE TRIGGER agent_tools_search_update AFTER UPDATE OF search_text ON agent_tools BEGIN
  INSERT INTO agent_tools_search (agent_tools_search, rowid, search_text) VALUES ('delete', old.seq, old.search_text);
  INSERT INTO agent_tools_search (rowid, search_text) VALUES (new.seq, new.search_text);
END;
`,
  },
  {
    version: 3,
    // Several nodes on one database (PostgreSQL): each call record names the node holding the call, and
    // nodes register with a heartbeat so the others can end the calls of one that was lost.
    name: 'call node ids, node registry',
    sql: NODE_REGISTRY_SQL,
  },
];

/** Bring the database up to the newest migration; refuse a database written by a newer build. */
export function migrate(db: SqliteDb, migrations: readonly Migration[] = MIGRATIONS): number {
  return db.guard('migrate', () => {
    db.exec(SCHEMA_MIGRATIONS_DDL);
    const row = db.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const { pending, newest } = migrationPlan(migrations, row?.v ?? 0);
    for (const m of pending) {
      db.tx(() => {
        db.exec(m.sql);
        db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', m.version, m.name, Date.now());
      });
    }
    return newest;
  });
}
