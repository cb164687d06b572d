/**
 * Migration 3's part common to both dialects: each call record names the node holding the call, and nodes
 * register with a heartbeat so the others can end the calls of one that was lost.
 */
export const NODE_REGISTRY_SQL = `
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
`;
