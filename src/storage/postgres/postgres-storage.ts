import type { PoolConfig } from 'pg';
import type { JtiStore } from '../../core/join-token.ts';
import { joinTokenPurge } from '../join-token-purge.ts';
import { StorageError } from '../storage-error.ts';
import type { Storage } from '../types.ts';
import { migratePg } from './migrations.ts';
import { PgAgentStore } from './pg-agents.ts';
import { PgCallStore } from './pg-calls.ts';
import { PgDb } from './pg-db.ts';
import { PgNodeStore } from './pg-nodes.ts';
import { PgToolStore } from './pg-tools.ts';
import { PgWebhookStore } from './pg-webhooks.ts';

/** Schema names we accept: plain identifiers, so they need no quoting anywhere (search_path, CREATE SCHEMA). */
export const PG_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresConnection {
  /** `postgres://user@host:5432/database` (libpq URL; `?sslmode=require` etc. are read). */
  readonly url: string;
  /** Overrides a password in the URL. */
  readonly password?: string;
  /** Schema holding Callroom's tables (created when missing). Default `public`. */
  readonly schema?: string;
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  /** Name in pg_stat_activity. */
  readonly applicationName?: string;
}

/** pg connection settings for a Callroom schema: search_path pinned to it, bounded waits. */
export function pgConnectionConfig(c: PostgresConnection, poolSize = c.poolSize ?? 10): PoolConfig {
  const schema = c.schema ?? 'public';
  if (!PG_SCHEMA_NAME.test(schema)) throw new StorageError('failed', 'storage.schema must be a lower-case identifier (a-z, 0-9, _)');
  return {
    connectionString: withPassword(c.url, c.password),
    max: poolSize,
    application_name: c.applicationName ?? 'callroom',
    // Every session sees Callroom's schema only; statements and lock waits cannot hang a call's record writes.
    options: `-c search_path=${schema} -c statement_timeout=15000 -c lock_timeout=10000`,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  };
}

/** pg lets the URL's fields win over separate ones: a separate password goes into the URL. */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new StorageError('failed', 'storage.url is not a valid URL', { cause: err });
  }
  u.password = encodeURIComponent(password);
  return u.toString();
}

export interface PostgresStorageOptions extends PostgresConnection {
  /** The node this storage belongs to (`cluster.nodeId`): written into the call records it creates. */
  readonly nodeId: string;
  /** Wall clock, Unix ms (tests). */
  readonly now?: () => number;
  /** An idle pooled connection failed (the server restarted): the next statement reconnects. */
  readonly onConnectionError?: (err: Error) => void;
}

/**
 * Storage on PostgreSQL, shared by every node of a deployment: the same data model and contract as the
 * embedded SQLite storage (test/support/storage-contract.ts), migrated on open. Open it with
 * {@link openPostgresStorage}; the constructor does no I/O.
 */
export class PostgresStorage implements Storage {
  readonly agents: PgAgentStore;
  readonly tools: PgToolStore;
  readonly webhooks: PgWebhookStore;
  readonly calls: PgCallStore;
  readonly joinTokens: JtiStore;
  readonly nodes: PgNodeStore;
  readonly schema: string;
  #schemaVersion = 0;
  readonly #db: PgDb;
  /** Heartbeats and the registry on connections of their own: never queued behind a burst of record writes. */
  readonly #control: PgDb;

  constructor(options: PostgresStorageOptions) {
    const now = options.now ?? Date.now;
    this.schema = options.schema ?? 'public';
    this.#db = new PgDb(pgConnectionConfig(options), options.onConnectionError);
    const db = this.#db;
    this.agents = new PgAgentStore(db, now);
    this.tools = new PgToolStore(db, now);
    this.webhooks = new PgWebhookStore(db, now);
    this.calls = new PgCallStore(db, options.nodeId);
    this.#control = new PgDb(pgConnectionConfig(options, 2), options.onConnectionError);
    this.nodes = new PgNodeStore(this.#control, options.nodeId);
    const purgeDue = joinTokenPurge(now);
    this.joinTokens = {
      async consume(jti: string, expiresAt: number): Promise<boolean> {
        return db.guard('consume join token', async () => {
          const expiredBefore = purgeDue();
          if (expiredBefore !== undefined) await db.run('DELETE FROM join_token_uses WHERE expires_at < $1', [expiredBefore]);
          // The primary key decides, across every node: exactly one INSERT of a jti succeeds.
          return (await db.run('INSERT INTO join_token_uses (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING', [jti, expiresAt])) === 1;
        });
      },
    };
  }

  get schemaVersion(): number {
    return this.#schemaVersion;
  }

  /** Connect and migrate. Rejects with CR_STORAGE_FAILED when the server is unreachable or newer. */
  async open(): Promise<this> {
    this.#schemaVersion = await migratePg(this.#db, this.schema);
    return this;
  }

  async close(): Promise<void> {
    await Promise.all([this.#db.close(), this.#control.close()]);
  }
}

/** A PostgreSQL storage, connected and migrated; closed again when that fails. */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<PostgresStorage> {
  const storage = new PostgresStorage(options);
  try {
    return await storage.open();
  } catch (err) {
    await storage.close();
    throw err;
  }
}
