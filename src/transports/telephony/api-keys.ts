import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The keys an endpoint accepts, compared in constant time (as SHA-256 digests, so neither the length nor
 * the content of a key leaks through timing).
 */
export class ApiKeys {
  readonly #digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  /** No keys configured: the endpoint relies on its source addresses alone. */
  get empty(): boolean {
    return this.#digests.length === 0;
  }

  accepts(candidate: unknown): boolean {
    if (typeof candidate !== 'string' || candidate === '' || candidate.length > 1024) return false;
    const d = digest(candidate);
    let ok = false;
    for (const k of this.#digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
