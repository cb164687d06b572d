import type { Config } from '../config/schema.ts';
import { SqliteStorage } from './sqlite/sqlite-storage.ts';
import type { Storage } from './types.ts';

/**
 * Open the configured storage (`config.storage`), migrated to the newest schema. Rejects with a
 * StorageError (CR_STORAGE_FAILED) when the data directory or database cannot be opened, or was written by
 * a newer build. Close it last, after everything that writes to it.
 */
export async function openStorage(config: Config['storage']): Promise<Storage> {
  switch (config.driver) {
    case 'sqlite':
      return new SqliteStorage({ dataDir: config.dataDir });
  }
}
