import { randomBytes } from 'node:crypto';
import { BRANCH_MAGIC_COOKIE } from './via.ts';

/**
 * Random identifiers with enough entropy to be globally unique (RFC 3261 §8.1.1.4 Call-ID,
 * §19.3 tags need 32 random bits, §8.1.1.7 branches must be unique across space and time).
 * Random bytes are drawn in batches: one syscall serves many ids.
 */
let pool = Buffer.alloc(0);
let offset = 0;

function randomToken(bytes: number): string {
  if (offset + bytes > pool.length) {
    pool = randomBytes(4096);
    offset = 0;
  }
  const s = pool.toString('base64url', offset, offset + bytes);
  offset += bytes;
  return s;
}

/** A Via branch with the RFC 3261 magic cookie. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomToken(12);
}

/** A From/To tag. */
export function newTag(): string {
  return randomToken(9);
}

/** A Call-ID, optionally `@host`. */
export function newCallId(host?: string): string {
  const id = randomToken(18);
  return host === undefined ? id : `${id}@${host}`;
}
