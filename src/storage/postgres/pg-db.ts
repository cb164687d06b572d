import { DatabaseError, Pool, types, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';
import { errorMessage } from '../../core/errors.ts';
import { StorageError } from '../storage-error.ts';

/** SQLSTATE codes we turn into answers (https://www.postgresql.org/docs/15/errcodes-appendix.html). */
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

/** Parameters of a statement ($1, $2, ...). */
export type Params = ReadonlyArray<string | number | boolean | null | readonly string[]>;

/** What runs statements: the pool, or one client inside a transaction. */
export interface PgQueries {
  rows<T extends QueryResultRow>(sql: string, params?: Params): Promise<T[]>;
  row<T extends QueryResultRow>(sql: string, params?: Params): Promise<T | undefined>;
  /** Rows touched. */
  run(sql: string, params?: Params): Promise<number>;
}

/**
 * BIGINT (int8) columns come back as JavaScript numbers: every one we store is a Unix ms time, a count or a
 * sequence number, all far below 2^53. The parser is this pool's own, so other users of `pg` in the
 * process keep theirs.
 */
const INT8_OID = 20;
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : types.getTypeParser(oid, format ?? 'text')) as typeof types.getTypeParser,
};

function queries(run: (sql: string, params: Params) => Promise<{ rows: QueryResultRow[]; rowCount: number | null }>): PgQueries {
  return {
    rows: async <T extends QueryResultRow>(sql: string, params: Params = []) => (await run(sql, params)).rows as T[],
    row: async <T extends QueryResultRow>(sql: string, params: Params = []) => (await run(sql, params)).rows[0] as T | undefined,
    run: async (sql, params = []) => (await run(sql, params)).rowCount ?? 0,
  };
}

/**
 * A connection pool to one PostgreSQL schema, with transactions and one error mapping: a unique violation
 * is a conflict, a foreign key violation `not_found`, anything else `failed`, and a closed pool `closed`.
 * Statements are sent with parameters ($1, ...), never with values spliced into the text.
 */
export class PgDb implements PgQueries {
  readonly #pool: Pool;
  readonly #q: PgQueries;
  #closed = false;

  constructor(config: PoolConfig, onIdleError: (err: Error) => void = () => undefined) {
    this.#pool = new Pool({ ...config, types: typeParsers });
    // An idle connection dropped by the server must not become an unhandled 'error' (the next query reconnects).
    this.#pool.on('error', onIdleError);
    this.#q = queries((sql, params) => {
      this.#check();
      return this.#pool.query(sql, params as unknown[]);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  rows<T extends QueryResultRow>(sql: string, params?: Params): Promise<T[]> {
    return this.#q.rows<T>(sql, params);
  }

  row<T extends QueryResultRow>(sql: string, params?: Params): Promise<T | undefined> {
    return this.#q.row<T>(sql, params);
  }

  run(sql: string, params?: Params): Promise<number> {
    return this.#q.run(sql, params);
  }

  /** Run `fn` in one transaction on one connection: all of it or none of it. */
  async tx<T>(fn: (q: PgQueries) => Promise<T>): Promise<T> {
    this.#check();
    const client = await this.#pool.connect();
    return runInTransaction(client, fn);
  }

  /** A connection of its own (migrations hold an advisory lock on it); release it when done. */
  async connect(): Promise<PoolClient> {
    this.#check();
    return this.#pool.connect();
  }

  /**
   * Run `fn`, turning database errors into StorageError: a unique violation is a conflict (`what` names
   * it), a foreign key violation `not_found`.
   */
  async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      this.#check();
      return await fn();
    } catch (err) {
      throw toStorageError(what, err, this.#closed);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end().catch(() => undefined);
  }

  #check(): void {
    if (this.#closed) throw new StorageError('closed', 'storage is closed');
  }
}

/** BEGIN, `fn`, COMMIT; ROLLBACK on any error. The client is released either way (destroyed when broken). */
export async function runInTransaction<T>(client: PoolClient, fn: (q: PgQueries) => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(queries((sql, params) => client.query(sql, params as unknown[])));
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => {
      broken = e instanceof Error ? e : new Error(errorMessage(e));
    });
    throw err;
  } finally {
    client.release(broken);
  }
}

export function isSqlState(err: unknown, code: string): boolean {
  return err instanceof DatabaseError && err.code === code;
}

export function toStorageError(what: string, err: unknown, closed = false): StorageError {
  if (err instanceof StorageError) return err;
  if (isSqlState(err, UNIQUE_VIOLATION)) return new StorageError('conflict', `${what}: already exists`, { cause: err });
  if (isSqlState(err, FOREIGN_KEY_VIOLATION)) return new StorageError('not_found', `${what}: a referenced record does not exist`, { cause: err });
  // pg says "Cannot use a pool after calling end on the pool" for a query racing close().
  if (closed) return new StorageError('closed', 'storage is closed', { cause: err });
  return new StorageError('failed', `${what}: ${errorMessage(err)}`, { cause: err });
}

export { FOREIGN_KEY_VIOLATION };
