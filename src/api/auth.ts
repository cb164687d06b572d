import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';

/**
 * API key check for every API route but the documentation. Keys are compared as SHA-256 digests with
 * timingSafeEqual, against every configured key without stopping early, so neither a key's length nor
 * which key matched shows in the timing. The key comes in `X-API-Key` (or `Authorization: Bearer <key>`).
 * With no key configured the server listens on loopback only (startHttpServer), and this check also
 * refuses any peer that is not a loopback address (a proxy on the same host is the operator's choice).
 */
export function apiKeyCheck(apiKeys: readonly string[], isPublic: (request: FastifyRequest) => boolean) {
  const digests = apiKeys.map((k) => digest(k));
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    if (isPublic(request)) return;
    if (digests.length === 0) {
      if (!isLoopbackAddress(request.socket.remoteAddress)) {
        throw new ApiError(401, 'CR_API_UNAUTHORIZED', 'no API key is configured: the API answers loopback clients only');
      }
      return;
    }
    const given = presentedKey(request);
    if (given === undefined) throw new ApiError(401, 'CR_API_UNAUTHORIZED', 'an API key is required (X-API-Key header)');
    const d = digest(given);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(d, k) || ok;
    if (!ok) throw new ApiError(401, 'CR_API_UNAUTHORIZED', 'the API key is not valid');
  };
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m !== null) return m[1];
  }
  return undefined;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(a) === 4) return a.startsWith('127.');
  return a === '::1';
}

/** Whether a listen host keeps the server on loopback. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopbackAddress(host);
}
