import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { errorMessage } from '../../core/errors.ts';
import { StorageError } from '../storage-error.ts';

/** SQLite extended result codes we turn into answers (https://sqlite.org/rescode.html). */
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;

export type Row = Record<string, SQLInputValue>;

/**
 * One open SQLite database (node:sqlite, synchronous) with a statement cache, transactions and one
 * error mapping: constraint failures become StorageError answers, anything else `failed`, and a closed
 * database `closed`. Synchronous calls run to completion, so a transaction never interleaves with
 * another request in this process; other processes wait on the busy timeout.
 */
export class SqliteDb {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  constructor(path: string) {
    this.#db = new DatabaseSync(path, { timeout: 5_000 });
    // WAL: readers never wait for the writer; synchronous=NORMAL keeps every commit across a process crash
    // (only a power loss can take the last commits). Foreign keys enforce assignments and call appends.
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Run a statement; `changes` says how many rows it touched. */
  run(sql: string, ...params: SQLInputValue[]): { changes: number } {
    const r = this.#prepare(sql).run(...params);
    return { changes: Number(r.changes) };
  }

  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#prepare(sql).get(...params) as T | undefined;
  }

  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#prepare(sql).all(...params) as T[];
  }

  /** Several statements (migrations); no parameters. */
  exec(sql: string): void {
    this.#check();
    this.#db.exec(sql);
  }

  /** Run `fn` in one write transaction: all of it or none of it. */
  tx<T>(fn: () => T): T {
    this.#check();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  /**
   * Run `fn`, turning database errors into StorageError: a unique or primary key violation is a
   * conflict (`what` names it), a foreign key violation `not_found`.
   */
  guard<T>(what: string, fn: () => T): T {
    try {
      this.#check();
      return fn();
    } catch (err) {
      throw toStorageError(what, err);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  #check(): void {
    if (this.#closed) throw new StorageError('closed', 'storage is closed');
  }

  #prepare(sql: string): StatementSync {
    this.#check();
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }
}

function toStorageError(what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const errcode = (err as { errcode?: unknown }).errcode;
  if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
    return new StorageError('conflict', `${what}: already exists`, { cause: err });
  }
  if (errcode === SQLITE_CONSTRAINT_FOREIGNKEY) return new StorageError('not_found', `${what}: a referenced record does not exist`, { cause: err });
  if ((err as { code?: unknown }).code === 'ERR_INVALID_STATE') return new StorageError('closed', 'storage is closed', { cause: err });
  return new StorageError('failed', `${what}: ${errorMessage(err)}`, { cause: err });
}
