import { StorageError } from '../storage-error.ts';

/**
 * A schema migration. Both back-ends number theirs alike, so that both databases at version N hold the same
 * data model; each runs once, in its own transaction, and is recorded in `schema_migrations`. Never edit a
 * released migration: add the next one, to both lists.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** The record of the migrations applied (the same DDL in both dialects). */
export const SCHEMA_MIGRATIONS_DDL = 'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';

/**
 * What a database at schema version `current` still needs: the later migrations in order, and the version
 * it is at after them. A database newer than this build is refused (StorageError `failed`).
 */
export function migrationPlan(migrations: readonly Migration[], current: number): { pending: readonly Migration[]; newest: number } {
  const newest = migrations.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new StorageError('failed', `the database is at schema version ${current}, newer than this build knows (${newest}); refusing to open it`);
  }
  return { pending: migrations.filter((m) => m.version > current), newest };
}
