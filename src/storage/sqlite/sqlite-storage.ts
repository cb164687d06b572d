import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { JtiStore } from '../../core/join-token.ts';
import { joinTokenPurge } from '../join-token-purge.ts';
import { StorageError } from '../storage-error.ts';
import type { Storage } from '../types.ts';
import { migrate } from './migrations.ts';
import { SqliteAgentStore } from './sqlite-agents.ts';
import { SqliteCallStore } from './sqlite-calls.ts';
import { SqliteDb } from './sqlite-db.ts';
import { SqliteNodeStore } from './sqlite-nodes.ts';
import { SqliteToolStore } from './sqlite-tools.ts';
import { SqliteWebhookStore } from './sqlite-webhooks.ts';

/** The database file inside the data directory. */
export const SQLITE_FILE = 'callroom.sqlite';

export interface SqliteStorageOptions {
  /** Directory of the database file (created when missing); or `:memory:` for a throwaway database. */
  readonly dataDir: string;
  /** Wall clock, Unix ms (tests). */
  readonly now?: () => number;
  /** The node this storage belongs to (`cluster.nodeId`): written into the call records it creates. Default `node-1`. */
  readonly nodeId?: string;
}

/** The node id of a storage opened without one. */
export const DEFAULT_NODE_ID = 'node-1';

/** Storage on embedded SQLite (node:sqlite): one file, migrated on open. */
export class SqliteStorage implements Storage {
  readonly agents: SqliteAgentStore;
  readonly tools: SqliteToolStore;
  readonly webhooks: SqliteWebhookStore;
  readonly calls: SqliteCallStore;
  readonly joinTokens: JtiStore;
  readonly nodes: SqliteNodeStore;
  /** The database file (`:memory:` when not on disk). */
  readonly path: string;
  readonly schemaVersion: number;
  readonly #db: SqliteDb;

  constructor(options: SqliteStorageOptions) {
    const now = options.now ?? Date.now;
    if (options.dataDir === ':memory:') {
      this.path = ':memory:';
    } else {
      try {
        mkdirSync(options.dataDir, { recursive: true });
      } catch (err) {
        throw new StorageError('failed', `cannot create the data directory ${options.dataDir}`, { cause: err });
      }
      this.path = join(options.dataDir, SQLITE_FILE);
    }
    try {
      this.#db = new SqliteDb(this.path);
    } catch (err) {
      throw new StorageError('failed', `cannot open the database ${this.path}`, { cause: err });
    }
    try {
      this.schemaVersion = migrate(this.#db);
    } catch (err) {
      this.#db.close();
      throw err;
    }
    this.agents = new SqliteAgentStore(this.#db, now);
    this.tools = new SqliteToolStore(this.#db, now);
    this.webhooks = new SqliteWebhookStore(this.#db, now);
    const nodeId = options.nodeId ?? DEFAULT_NODE_ID;
    this.calls = new SqliteCallStore(this.#db, nodeId);
    this.nodes = new SqliteNodeStore(this.#db, nodeId);
    const db = this.#db;
    const purgeDue = joinTokenPurge(now);
    this.joinTokens = {
      async consume(jti: string, expiresAt: number): Promise<boolean> {
        return db.guard('consume join token', () => {
          const expiredBefore = purgeDue();
          if (expiredBefore !== undefined) db.run('DELETE FROM join_token_uses WHERE expires_at < ?', expiredBefore);
          return db.run('INSERT INTO join_token_uses (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING', jti, expiresAt).changes === 1;
        });
      },
    };
  }

  async close(): Promise<void> {
    this.#db.close();
  }
}
