import { openPostgresStorage } from './postgres/postgres-storage.ts';
import { DEFAULT_NODE_ID, SqliteStorage } from './sqlite/sqlite-storage.ts';
import { StorageError } from './storage-error.ts';
import type { Storage } from './types.ts';

/** `config.storage` (src/config/schema.ts), or the part of it a test gives. */
export interface StorageSettings {
  readonly driver: 'sqlite' | 'postgres';
  /** sqlite */
  readonly dataDir?: string;
  /** postgres */
  readonly url?: string;
  readonly password?: string;
  readonly schema?: string;
  readonly poolSize?: number;
}

export interface StorageNode {
  /** `cluster.nodeId`: the node the storage speaks for (call records it creates, its registry entry). */
  readonly nodeId: string;
  /** postgres: an idle pooled connection failed (the next statement reconnects); for the log. */
  readonly onConnectionError?: (err: Error) => void;
}

/**
 * Open the configured storage (`config.storage`), migrated to the newest schema. Rejects with a
 * StorageError (CR_STORAGE_FAILED) when the data directory or database cannot be opened, or was written by
 * a newer build. Close it last, after everything that writes to it.
 */
export async function openStorage(config: StorageSettings, node: StorageNode = { nodeId: DEFAULT_NODE_ID }): Promise<Storage> {
  switch (config.driver) {
    case 'sqlite':
      return new SqliteStorage({ dataDir: config.dataDir ?? './data', nodeId: node.nodeId });
    case 'postgres':
      if (config.url === undefined) throw new StorageError('failed', 'storage.url is required with driver postgres');
      return openPostgresStorage({
        url: config.url,
        nodeId: node.nodeId,
        ...(config.password === undefined ? {} : { password: config.password }),
        ...(config.schema === undefined ? {} : { schema: config.schema }),
        ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }),
        ...(node.onConnectionError === undefined ? {} : { onConnectionError: node.onConnectionError }),
        applicationName: `callroom ${node.nodeId}`,
      });
  }
}
