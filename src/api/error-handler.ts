import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { isStorageError } from '../storage/storage-error.ts';
import { ApiError, type ApiErrorDetail } from './api-error.ts';

const CONTEXTS: Readonly<Record<string, ApiErrorDetail['in']>> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/** Zod issues as error details (path and reason, never the value). */
export function issueDetails(issues: readonly z.core.$ZodIssue[], where: ApiErrorDetail['in'], prefix = ''): ApiErrorDetail[] {
  return issues.map((i) => ({ in: where, path: [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.'), message: i.message }));
}

/** Every error the API answers with becomes `{code, message, details?}` with a fitting status. */
export function apiErrorHandler(logger: Logger) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const e = toApiError(err);
    if (e.status >= 500) {
      logger.error({ err: errorMessage(err), code: (err as { code?: unknown }).code, method: request.method, route: request.routeOptions.url }, 'api request failed');
    }
    if (e.retryAfterSeconds !== undefined) void reply.header('retry-after', String(e.retryAfterSeconds));
    return reply
      .code(e.status)
      .type('application/json')
      .send(JSON.stringify({ code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) }));
  };
}

function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const where = CONTEXTS[err.validationContext ?? 'body'] ?? 'body';
    const details = err.validation.map((v) => ({ in: where, path: v.instancePath.replace(/^\//, '').replaceAll('/', '.'), message: v.message ?? 'invalid' }));
    return new ApiError(400, 'CR_API_VALIDATION', 'the request is not valid', { details });
  }
  if (isStorageError(err)) {
    switch (err.kind) {
      case 'conflict':
        return new ApiError(409, 'CR_API_CONFLICT', err.message);
      case 'in_use':
        return new ApiError(409, 'CR_API_IN_USE', err.message);
      case 'not_found':
        return new ApiError(404, 'CR_API_NOT_FOUND', err.message);
      default:
        return new ApiError(503, 'CR_API_UNAVAILABLE', 'storage is unavailable', { retryAfterSeconds: 1 });
    }
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'CR_API_BODY_TOO_LARGE', 'the body is larger than the API accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'CR_API_UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'CR_API_MALFORMED_JSON', 'the body is not valid JSON');
    default:
      break;
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) return new ApiError(status, 'CR_API_VALIDATION', 'the request is not valid');
  return new ApiError(500, 'CR_API_INTERNAL', 'internal error');
}
