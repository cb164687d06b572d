import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CallroomError } from './errors.ts';

/**
 * Join tokens: what lets a WebSocket client join the call the REST API started for it. A token is
 * `<payload>.<signature>`, both base64url: the payload is the JSON of the claims, the signature is
 * HMAC-SHA256 over the payload text with the gateway's token secret. Tokens are short-lived and single
 * use: verifying one consumes its `jti` through a {@link JtiStore}, which the storage layer implements so
 * that nodes sharing one database refuse a token another node already accepted.
 */

export interface JoinTokenClaims {
  /** The call the bearer may join. */
  readonly callId: string;
  /** Expiry, Unix seconds. */
  readonly exp: number;
  /** Unique token id, consumed on first use. */
  readonly jti: string;
}

/** Remembers used token ids until they expire. */
export interface JtiStore {
  /** Record `jti` as used; false when it was already used. `expiresAt` (Unix seconds) says when it may be forgotten. */
  consume(jti: string, expiresAt: number): Promise<boolean>;
}

export type JoinTokenFailure = 'expired' | 'forged' | 'malformed' | 'reused';

const FAILURE_CODES: Readonly<Record<JoinTokenFailure, string>> = {
  expired: 'CR_JOIN_TOKEN_EXPIRED',
  forged: 'CR_JOIN_TOKEN_FORGED',
  malformed: 'CR_JOIN_TOKEN_MALFORMED',
  reused: 'CR_JOIN_TOKEN_REUSED',
};

/** A token that must not admit its bearer; `reason` says why (the message never quotes the token). */
export class JoinTokenError extends CallroomError {
  readonly reason: JoinTokenFailure;
  constructor(reason: JoinTokenFailure, message: string) {
    super(FAILURE_CODES[reason], message);
    this.name = 'JoinTokenError';
    this.reason = reason;
  }
}

/** Shortest secret accepted, in bytes: HMAC-SHA256 gains nothing beyond its block size, and loses below 32. */
export const MIN_TOKEN_SECRET_BYTES = 32;
/** Anything longer is not one of ours; refused before any work. */
const MAX_TOKEN_LENGTH = 1024;
const TOKEN_SHAPE = /^([A-Za-z0-9_-]{1,900})\.([A-Za-z0-9_-]{43})$/;

function secretBytes(secret: string | Uint8Array): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < MIN_TOKEN_SECRET_BYTES) throw new RangeError(`join token secret must be at least ${MIN_TOKEN_SECRET_BYTES} bytes`);
  return bytes;
}

function sign(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload, 'ascii').digest();
}

/** Sign claims into a token. */
export function signJoinToken(secret: string | Uint8Array, claims: JoinTokenClaims): string {
  const payload = Buffer.from(JSON.stringify({ callId: claims.callId, exp: claims.exp, jti: claims.jti }), 'utf8').toString('base64url');
  return `${payload}.${sign(secretBytes(secret), payload).toString('base64url')}`;
}

/**
 * Check a token's form, signature (constant time) and expiry, without consuming it. Throws
 * {@link JoinTokenError}: `malformed` (not a token of this shape), `forged` (signature does not match),
 * `expired` (`exp` is not after `nowSeconds`).
 */
export function decodeJoinToken(secret: string | Uint8Array, token: unknown, nowSeconds: number): JoinTokenClaims {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new JoinTokenError('malformed', 'join token is malformed');
  const m = TOKEN_SHAPE.exec(token);
  if (m === null) throw new JoinTokenError('malformed', 'join token is malformed');
  const payload = m[1] as string;
  const signature = m[2] as string;
  const given = Buffer.from(signature, 'base64url');
  // A non-canonical final character decodes to the same bytes: only the canonical spelling is a token.
  if (given.length !== 32 || given.toString('base64url') !== signature) throw new JoinTokenError('malformed', 'join token is malformed');
  const expected = sign(secretBytes(secret), payload);
  if (!timingSafeEqual(given, expected)) throw new JoinTokenError('forged', 'join token signature does not match');
  const claims = parseClaims(payload);
  if (claims === undefined) throw new JoinTokenError('malformed', 'join token claims are malformed');
  if (claims.exp <= nowSeconds) throw new JoinTokenError('expired', 'join token has expired');
  return claims;
}

function parseClaims(payload: string): JoinTokenClaims | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const { callId, exp, jti } = v;
  if (typeof callId !== 'string' || callId === '' || typeof jti !== 'string' || jti === '') return undefined;
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp)) return undefined;
  return { callId, exp, jti };
}

export interface JoinTokensOptions {
  /** At least 32 bytes. */
  readonly secret: string | Uint8Array;
  readonly ttlSeconds: number;
  readonly store: JtiStore;
  /** Wall clock, Unix milliseconds (default Date.now). */
  readonly now?: () => number;
}

/** Issues and verifies single-use join tokens with one secret and one used-id store. */
export class JoinTokens {
  readonly ttlSeconds: number;
  readonly #secret: Buffer;
  readonly #store: JtiStore;
  readonly #now: () => number;

  constructor(options: JoinTokensOptions) {
    if (!(Number.isInteger(options.ttlSeconds) && options.ttlSeconds > 0)) throw new RangeError('ttlSeconds must be a positive integer');
    this.#secret = secretBytes(options.secret);
    this.ttlSeconds = options.ttlSeconds;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  /** A fresh token for `callId`, expiring `ttlSeconds` from now. */
  issue(callId: string): { readonly token: string; readonly claims: JoinTokenClaims } {
    const claims: JoinTokenClaims = {
      callId,
      exp: Math.floor(this.#now() / 1000) + this.ttlSeconds,
      jti: randomBytes(16).toString('base64url'),
    };
    return { token: signJoinToken(this.#secret, claims), claims };
  }

  /**
   * Verify and consume: resolves with the claims once, for a valid unexpired token; rejects with
   * {@link JoinTokenError} (`malformed`, `forged`, `expired`, `reused`). A store failure rejects with
   * the store's error (the bearer is not admitted).
   */
  async verify(token: unknown): Promise<JoinTokenClaims> {
    const claims = decodeJoinToken(this.#secret, token, Math.floor(this.#now() / 1000));
    if (!(await this.#store.consume(claims.jti, claims.exp))) throw new JoinTokenError('reused', 'join token was already used');
    return claims;
  }
}

/** A random secret for a gateway started without one (tokens then do not survive a restart). */
export function randomTokenSecret(): Buffer {
  return randomBytes(MIN_TOKEN_SECRET_BYTES);
}
