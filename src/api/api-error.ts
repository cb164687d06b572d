import { CallroomError } from '../core/errors.ts';

/** Stable codes of REST API error bodies. */
export type ApiErrorCode =
  | 'CR_API_VALIDATION'
  | 'CR_API_MALFORMED_JSON'
  | 'CR_API_UNAUTHORIZED'
  | 'CR_API_NOT_FOUND'
  | 'CR_API_ROUTE_NOT_FOUND'
  | 'CR_API_CONFLICT'
  | 'CR_API_IN_USE'
  | 'CR_API_READ_ONLY'
  | 'CR_API_CALL_ENDED'
  | 'CR_API_BODY_TOO_LARGE'
  | 'CR_API_UNSUPPORTED_MEDIA_TYPE'
  | 'CR_API_TOO_MANY_CALLS'
  | 'CR_API_UNAVAILABLE'
  | 'CR_API_INTERNAL';

/** One problem with a request: where (`in` and a dotted `path`) and why; never the value sent. */
export interface ApiErrorDetail {
  readonly in: 'body' | 'query' | 'params' | 'headers';
  readonly path: string;
  readonly message: string;
}

/**
 * An error the API answers with: HTTP status, stable code, a message for people, and for validation
 * errors the fields at fault. Every error body is `{code, message, details?}`.
 */
export class ApiError extends CallroomError {
  readonly status: number;
  readonly details: readonly ApiErrorDetail[] | undefined;
  /** Sent as `Retry-After` (seconds). */
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, code: ApiErrorCode, message: string, options: { details?: readonly ApiErrorDetail[]; retryAfterSeconds?: number } = {}) {
    super(code, message);
    this.name = 'ApiError';
    this.status = status;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function notFound(what: string, id: string): ApiError {
  return new ApiError(404, 'CR_API_NOT_FOUND', `${what} ${JSON.stringify(id.slice(0, 100))} does not exist`);
}

export function invalid(path: string, message: string, where: ApiErrorDetail['in'] = 'body'): ApiError {
  return new ApiError(400, 'CR_API_VALIDATION', 'the request is not valid', { details: [{ in: where, path, message }] });
}

export function conflict(message: string): ApiError {
  return new ApiError(409, 'CR_API_CONFLICT', message);
}
