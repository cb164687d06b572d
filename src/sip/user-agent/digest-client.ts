import { authorize, parseChallenge, type DigestChallenge, type DigestCredentials } from '../auth/digest.ts';
import type { SipMessage } from '../message/sip-message.ts';

/** RFC 8760 §2.4: prefer SHA-256 to MD5 when a server offers both. */
const PREFERENCE = ['SHA-256', 'SHA-256-sess', 'MD5', 'MD5-sess'];

/** A header answering a challenge. */
export interface AuthHeader {
  readonly name: 'Authorization' | 'Proxy-Authorization';
  readonly value: string;
}

/**
 * Client side of digest authentication for one request sequence (a dial, a registration): answers
 * a 401/407 (RFC 3261 §22.2, §22.3) with MD5 or SHA-256 and qop=auth, once per challenge — a second
 * challenge is only answered when the server says the nonce was stale, so wrong credentials end
 * in the failure they are instead of a loop. The nonce count goes up when a nonce is reused.
 */
export class DigestClient {
  readonly #credentials: DigestCredentials;
  #retries = 0;
  #nonce: string | undefined;
  #nc = 0;
  #last: { challenge: DigestChallenge; proxy: boolean } | undefined;

  constructor(credentials: DigestCredentials) {
    this.#credentials = credentials;
  }

  /** The header to retry `request` with after `response` (401/407), or undefined to give up. */
  answer(request: SipMessage, response: SipMessage): AuthHeader | undefined {
    const proxy = response.status === 407;
    if (!proxy && response.status !== 401) return undefined;
    const challenges = response
      .lines(proxy ? 'proxy-authenticate' : 'www-authenticate')
      .map(parseChallenge)
      .filter((c): c is DigestChallenge => c !== undefined)
      .sort((a, b) => PREFERENCE.indexOf(a.algorithm) - PREFERENCE.indexOf(b.algorithm));
    const best = challenges[0];
    if (best === undefined) return undefined;
    if (this.#retries >= 2 || (this.#retries >= 1 && !best.stale)) return undefined;
    this.#retries++;
    this.#last = { challenge: best, proxy };
    return this.#header(request);
  }

  /**
   * Credentials for a new request of the same sequence (a registration refresh) from the last
   * challenge, so the server need not challenge again; undefined before any challenge.
   */
  preemptive(request: SipMessage): AuthHeader | undefined {
    return this.#last === undefined ? undefined : this.#header(request);
  }

  /** A request of the sequence succeeded: the next challenge is answered again. */
  succeeded(): void {
    this.#retries = 0;
  }

  #header(request: SipMessage): AuthHeader {
    const last = this.#last as { challenge: DigestChallenge; proxy: boolean };
    this.#nc = last.challenge.nonce === this.#nonce ? this.#nc + 1 : 1;
    this.#nonce = last.challenge.nonce;
    return {
      name: last.proxy ? 'Proxy-Authorization' : 'Authorization',
      value: authorize(last.challenge, this.#credentials, request.method, request.requestUri, this.#nc),
    };
  }
}

/**
 * A copy of `request` to send again in a new transaction: no Via (the layer adds one with a new
 * branch), CSeq `seq`, and `auth` replacing any earlier credentials of that kind.
 */
export function retryRequest(request: SipMessage, seq: number, auth?: AuthHeader): SipMessage {
  const copy = request.clone();
  copy.delete('via');
  copy.set('CSeq', `${seq} ${request.method}`);
  if (auth !== undefined) copy.set(auth.name, auth.value);
  return copy;
}
