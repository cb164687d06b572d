/**
 * Migration 1, the tables, in either dialect: the text is the same but for `seq`, the column giving each
 * row's insertion order (SQLite: `seq INTEGER PRIMARY KEY`, the rowid; PostgreSQL: an identity column).
 * JSON is kept as TEXT, exactly as written; times are BIGINT Unix ms.
 */
export function baseTablesSql(seq: string): string {
  return `
CREATE TABLE agents (
  ${seq},
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
  ${seq},
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
  ${seq},
  agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  tool_id TEXT NOT NULL REFERENCES agent_tools (id) ON DELETE RESTRICT,
  UNIQUE (agent_id, tool_id)
);
CREATE INDEX agent_tool_assignments_tool ON agent_tool_assignments (tool_id);

CREATE TABLE webhooks (
  ${seq},
  id TEXT NOT NULL UNIQUE,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT,
  version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE calls (
  ${seq},
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
  ${seq},
  call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  text TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  interrupted SMALLINT NOT NULL
);
CREATE INDEX call_transcript_call ON call_transcript (call_id, seq);

CREATE TABLE call_tool_calls (
  ${seq},
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
  ${seq},
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
`;
}
