import { StorageError } from '../storage-error.ts';
import type { SqliteDb } from './sqlite-db.ts';

/**
 * Schema migrations, in order; each runs once, in its own transaction, and is recorded in
 * `schema_migrations`. Never edit a released migration: add the next one. The SQL keeps to what
 * PostgreSQL also reads where that is cheap (TEXT, BIGINT, CHECK, REFERENCES); the one SQLite-only
 * idiom is `seq INTEGER PRIMARY KEY` (a row id giving insertion order; BIGSERIAL in PostgreSQL).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'agents, tools, webhooks, call records, join tokens',
    sql: `
CREATE TABLE agents (
  seq INTEGER PRIMARY KEY,
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
  seq INTEGER PRIMARY KEY,
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
  seq INTEGER PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  tool_id TEXT NOT NULL REFERENCES agent_tools (id) ON DELETE RESTRICT,
  UNIQUE (agent_id, tool_id)
);
CREATE INDEX agent_tool_assignments_tool ON agent_tool_assignments (tool_id);

CREATE TABLE webhooks (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE calls (
  seq INTEGER PRIMARY KEY,
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
  seq INTEGER PRIMARY KEY,
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  text TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  interrupted SMALLINT NOT NULL
);
CREATE INDEX call_transcript_call ON call_transcript (call_id, seq);

CREATE TABLE call_tool_calls (
  seq INTEGER PRIMARY KEY,
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
  seq INTEGER PRIMARY KEY,
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
`,
  },
];

/** Bring the database up to the newest migration; refuse a database written by a newer build. */
export function migrate(db: SqliteDb, migrations: readonly Migration[] = MIGRATIONS): number {
  return db.guard('migrate', () => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const row = db.get<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const current = row?.v ?? 0;
    const newest = migrations.at(-1)?.version ?? 0;
    if (current > newest) {
      throw new StorageError('failed', `the database is at schema version ${current}, newer than this build knows (${newest}); refusing to open it`);
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.tx(() => {
        db.exec(m.sql);
        db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', m.version, m.name, Date.now());
      });
    }
    return newest;
  });
}
