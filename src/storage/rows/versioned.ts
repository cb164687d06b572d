import { StorageError } from '../storage-error.ts';
import type { Versioned } from '../types.ts';

/** The version fields of a record just created at `at`. */
export function firstVersion(at: number): Versioned {
  return { version: 1, createdAt: at, updatedAt: at };
}

/**
 * Optimistic concurrency for an update of a record read as `row`, inside the update's transaction: a
 * conflict when its version is not the one the caller read (`what` names the record); else the version
 * fields to write, the update time never earlier than the last one.
 */
export function nextVersion(
  what: string,
  row: { readonly version: number; readonly created_at: number; readonly updated_at: number },
  expectedVersion: number,
  now: () => number,
): Versioned {
  if (row.version !== expectedVersion) throw new StorageError('conflict', `${what} changed since it was read`);
  return { version: row.version + 1, createdAt: row.created_at, updatedAt: Math.max(now(), row.updated_at) };
}
