import { CallroomError } from '../core/errors.ts';

export type StorageFailure = 'conflict' | 'not_found' | 'in_use' | 'closed' | 'failed';

const CODES: Readonly<Record<StorageFailure, string>> = {
  conflict: 'CR_STORAGE_CONFLICT',
  not_found: 'CR_STORAGE_NOT_FOUND',
  in_use: 'CR_STORAGE_IN_USE',
  closed: 'CR_STORAGE_CLOSED',
  failed: 'CR_STORAGE_FAILED',
};

/**
 * A storage operation that did not happen. Messages name records by id and field, never by content (a
 * spec may carry secrets). `missing` lists the ids that were not found (assignment of several tools).
 */
export class StorageError extends CallroomError {
  readonly kind: StorageFailure;
  readonly missing: readonly string[];
  constructor(kind: StorageFailure, message: string, options: { cause?: unknown; missing?: readonly string[] } = {}) {
    // A failed write may succeed later (disk full, database busy); the others are answers, not accidents.
    super(CODES[kind], message, { retryable: kind === 'failed', cause: options.cause });
    this.name = 'StorageError';
    this.kind = kind;
    this.missing = options.missing ?? [];
  }
}

export function isStorageError(err: unknown, kind?: StorageFailure): err is StorageError {
  return err instanceof StorageError && (kind === undefined || err.kind === kind);
}
