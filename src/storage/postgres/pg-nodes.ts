import { randomUUID } from 'node:crypto';
import { NODE_COLUMNS, nodeFromRow, type NodeRow } from '../rows/node-row.ts';
import { StorageError } from '../storage-error.ts';
import type { NodeRecord, NodeStore } from '../types.ts';
import type { PgDb } from './pg-db.ts';

/**
 * The node registry (`cluster_nodes`): each gateway process registers its node id with a random instance id
 * and keeps a heartbeat; any node ends the calls of a node that is down or has gone silent.
 */
export class PgNodeStore implements NodeStore {
  readonly self: string;
  readonly #db: PgDb;
  readonly #instance = randomUUID();

  constructor(db: PgDb, nodeId: string) {
    this.#db = db;
    this.self = nodeId;
  }

  async register(node: { readonly publicUrl: string | null; readonly at: number; readonly staleBefore: number; readonly endReason: string }): Promise<readonly string[]> {
    return this.#db.guard(`node ${this.self}`, () =>
      this.#db.tx(async (q) => {
        // The row is created first (or locked), so two processes registering one id at once take turns.
        await q.run(
          `INSERT INTO cluster_nodes (id, instance, public_url, state, started_at, heartbeat_at) VALUES ($1, '', NULL, 'down', 0, 0) ON CONFLICT (id) DO NOTHING`,
          [this.self],
        );
        const row = await q.row<NodeRow & { instance: string }>(`SELECT ${NODE_COLUMNS}, instance FROM cluster_nodes WHERE id = $1 FOR UPDATE`, [this.self]);
        if (row !== undefined && row.instance !== this.#instance && row.state === 'up' && row.heartbeat_at >= node.staleBefore) {
          throw new StorageError('conflict', `node id ${this.self} is in use by another live process`);
        }
        await q.run("UPDATE cluster_nodes SET instance = $1, public_url = $2, state = 'up', started_at = $3, heartbeat_at = $3 WHERE id = $4", [
          this.#instance,
          node.publicUrl,
          node.at,
          this.self,
        ]);
        const left = await q.rows<{ id: string }>(
          "UPDATE calls SET state = 'ended', ended_at = $1, end_reason = $2 WHERE node_id = $3 AND state <> 'ended' RETURNING id",
          [node.at, node.endReason, this.self],
        );
        return left.map((r) => r.id);
      }),
    );
  }

  async heartbeat(at: number): Promise<boolean> {
    return this.#db.guard(`node ${this.self} heartbeat`, async () => {
      return (await this.#db.run("UPDATE cluster_nodes SET heartbeat_at = $1, state = 'up' WHERE id = $2 AND instance = $3", [at, this.self, this.#instance])) === 1;
    });
  }

  async leave(at: number): Promise<void> {
    await this.#db.guard(`node ${this.self} leave`, () =>
      this.#db.run("UPDATE cluster_nodes SET heartbeat_at = $1, state = 'down' WHERE id = $2 AND instance = $3", [at, this.self, this.#instance]),
    );
  }

  async get(id: string): Promise<NodeRecord | undefined> {
    return this.#db.guard('get node', async () => {
      const row = await this.#db.row<NodeRow>(`SELECT ${NODE_COLUMNS} FROM cluster_nodes WHERE id = $1`, [id]);
      return row === undefined ? undefined : nodeFromRow(row);
    });
  }

  async list(): Promise<readonly NodeRecord[]> {
    return this.#db.guard('list nodes', async () => (await this.#db.rows<NodeRow>(`SELECT ${NODE_COLUMNS} FROM cluster_nodes WHERE instance <> '' ORDER BY id`)).map(nodeFromRow));
  }

  async reapLost(staleBefore: number, at: number, endReason: string): Promise<ReadonlyArray<{ readonly callId: string; readonly nodeId: string }>> {
    return this.#db.guard('end calls of lost nodes', async () => {
      // One statement: every node may run it at the same moment; each call is ended once (the state guard).
      const rows = await this.#db.rows<{ id: string; node_id: string }>(
        `UPDATE calls SET state = 'ended', ended_at = $1, end_reason = $2
         WHERE state <> 'ended' AND node_id IN (SELECT id FROM cluster_nodes WHERE id <> $3 AND (state = 'down' OR heartbeat_at < $4))
         RETURNING id, node_id`,
        [at, endReason, this.self, staleBefore],
      );
      return rows.map((r) => ({ callId: r.id, nodeId: r.node_id }));
    });
  }
}
