import { randomUUID } from 'node:crypto';
import { NODE_COLUMNS, nodeFromRow, type NodeRow } from '../rows/node-row.ts';
import { StorageError } from '../storage-error.ts';
import type { NodeRecord, NodeStore } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';

/**
 * The node registry (`cluster_nodes`) on SQLite. One file serves one node in practice, but the semantics are
 * the shared ones (test/support/storage-contract.ts): an instance id per open storage, a conflict for a
 * second live instance of the same node id.
 */
export class SqliteNodeStore implements NodeStore {
  readonly self: string;
  readonly #db: SqliteDb;
  readonly #instance = randomUUID();

  constructor(db: SqliteDb, nodeId: string) {
    this.#db = db;
    this.self = nodeId;
  }

  async register(node: { readonly publicUrl: string | null; readonly at: number; readonly staleBefore: number; readonly endReason: string }): Promise<readonly string[]> {
    return this.#db.guard(`node ${this.self}`, () =>
      this.#db.tx(() => {
        const row = this.#db.get<NodeRow & { instance: string }>(`SELECT ${NODE_COLUMNS}, instance FROM cluster_nodes WHERE id = ?`, this.self);
        if (row !== undefined && row.instance !== this.#instance && row.state === 'up' && row.heartbeat_at >= node.staleBefore) {
          throw new StorageError('conflict', `node id ${this.self} is in use by another live process`);
        }
        this.#db.run(
          `INSERT INTO cluster_nodes (id, instance, public_url, state, started_at, heartbeat_at) VALUES (?, ?, ?, 'up', ?, ?)
           ON CONFLICT (id) DO UPDATE SET instance = excluded.instance, public_url = excluded.public_url, state = 'up',
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`,
          this.self,
          this.#instance,
          node.publicUrl,
          node.at,
          node.at,
        );
        const left = this.#db.all<{ id: string }>("SELECT id FROM calls WHERE node_id = ? AND state <> 'ended' ORDER BY seq", this.self).map((r) => r.id);
        this.#db.run("UPDATE calls SET state = 'ended', ended_at = ?, end_reason = ? WHERE node_id = ? AND state <> 'ended'", node.at, node.endReason, this.self);
        return left;
      }),
    );
  }

  async heartbeat(at: number): Promise<boolean> {
    return this.#db.guard(`node ${this.self} heartbeat`, () => {
      return this.#db.run("UPDATE cluster_nodes SET heartbeat_at = ?, state = 'up' WHERE id = ? AND instance = ?", at, this.self, this.#instance).changes === 1;
    });
  }

  async leave(at: number): Promise<void> {
    this.#db.guard(`node ${this.self} leave`, () => {
      this.#db.run("UPDATE cluster_nodes SET heartbeat_at = ?, state = 'down' WHERE id = ? AND instance = ?", at, this.self, this.#instance);
    });
  }

  async get(id: string): Promise<NodeRecord | undefined> {
    return this.#db.guard('get node', () => {
      const row = this.#db.get<NodeRow>(`SELECT ${NODE_COLUMNS} FROM cluster_nodes WHERE id = ?`, id);
      return row === undefined ? undefined : nodeFromRow(row);
    });
  }

  async list(): Promise<readonly NodeRecord[]> {
    return this.#db.guard('list nodes', () => this.#db.all<NodeRow>(`SELECT ${NODE_COLUMNS} FROM cluster_nodes ORDER BY id`).map(nodeFromRow));
  }

  async reapLost(staleBefore: number, at: number, endReason: string): Promise<ReadonlyArray<{ readonly callId: string; readonly nodeId: string }>> {
    return this.#db.guard('end calls of lost nodes', () =>
      this.#db.tx(() => {
        const lost = "SELECT id FROM cluster_nodes WHERE id <> ? AND (state = 'down' OR heartbeat_at < ?)";
        const rows = this.#db.all<{ id: string; node_id: string }>(
          `SELECT id, node_id FROM calls WHERE state <> 'ended' AND node_id IN (${lost}) ORDER BY seq`,
          this.self,
          staleBefore,
        );
        if (rows.length === 0) return [];
        this.#db.run(`UPDATE calls SET state = 'ended', ended_at = ?, end_reason = ? WHERE state <> 'ended' AND node_id IN (${lost})`, at, endReason, this.self, staleBefore);
        return rows.map((r) => ({ callId: r.id, nodeId: r.node_id }));
      }),
    );
  }
}
