import type { FastifyInstance } from 'fastify';
import { ApiError } from './api-error.ts';

/** Deepest nesting a request body may have (the deepest real body, an agent's tool parameters, is 6). */
export const MAX_JSON_DEPTH = 32;

/** JSON content types the API reads (merge-patch for PATCH, RFC 7396). */
export const JSON_CONTENT_TYPES = ['application/json', 'application/merge-patch+json'] as const;

/**
 * Replace fastify's body parsers, in the API's own context only, by a JSON parser with one that also refuses what JSON.parse
 * lets through but storage and validation should never see: nesting deeper than {@link MAX_JSON_DEPTH},
 * strings or keys that are not well-formed Unicode (a lone surrogate would be silently replaced by SQLite),
 * and `__proto__` keys. An empty body is no body (a DELETE sent with a JSON content type).
 */
export function registerJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  // Only JSON: fastify's text/plain parser would turn a form post into a string the schema then refuses
  // with a less useful message than 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...JSON_CONTENT_TYPES], { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // The parser's message quotes the input; only the fact is reported.
      done(new ApiError(400, 'CR_API_MALFORMED_JSON', 'the body is not valid JSON'), undefined);
      return;
    }
    const problem = checkJsonValue(value);
    if (problem !== undefined) {
      done(new ApiError(400, 'CR_API_VALIDATION', 'the request is not valid', { details: [{ in: 'body', path: problem.path, message: problem.message }] }), undefined);
      return;
    }
    done(null, value);
  });
}

/** The first problem in a parsed JSON value, walking iteratively (no recursion on hostile depth). */
export function checkJsonValue(root: unknown): { path: string; message: string } | undefined {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value: root, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop() as { value: unknown; path: string; depth: number };
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return { path, message: 'text is not well-formed Unicode (a lone surrogate)' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return { path, message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push({ value: value[i], path: join(path, String(i)), depth: depth + 1 });
      continue;
    }
    for (const [key, v] of Object.entries(value)) {
      if (key === '__proto__') return { path: join(path, key), message: 'key not allowed' };
      if (!key.isWellFormed()) return { path, message: 'a key is not well-formed Unicode (a lone surrogate)' };
      stack.push({ value: v, path: join(path, key), depth: depth + 1 });
    }
  }
  return undefined;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}
