import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * HTTP Digest for SIP (RFC 3261 §22, RFC 7616 algorithms, RFC 8760 for SIP): MD5 and SHA-256, their -sess
 * variants, qop=auth. The client side answers 401/407 challenges; the server side challenges inbound INVITEs
 * with stateless nonces (timestamp + HMAC), so a flood of unauthenticated requests costs no memory.
 */

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly algorithm: DigestAlgorithm;
  readonly qop: readonly string[];
  readonly opaque?: string;
  readonly stale: boolean;
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

const ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'];

/** Parse `Digest k=v, k="v"` auth-params. Returns undefined for other schemes or malformed input. */
export function parseAuthParams(value: string): Map<string, string> | undefined {
  const m = /^\s*Digest\s+/i.exec(value);
  if (m === null) return undefined;
  const params = new Map<string, string>();
  let i = m[0].length;
  while (i < value.length) {
    while (i < value.length && /[\s,]/.test(value[i] as string)) i++;
    if (i >= value.length) break;
    const eq = value.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = value.slice(i, eq).trim().toLowerCase();
    if (!/^[a-z0-9_-]+$/.test(key)) return undefined;
    i = eq + 1;
    while (value[i] === ' ') i++;
    let v = '';
    if (value[i] === '"') {
      i++;
      let closed = false;
      while (i < value.length) {
        const c = value[i] as string;
        if (c === '\\' && i + 1 < value.length) {
          v += value[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          v += c;
          i++;
        }
      }
      if (!closed) return undefined;
    } else {
      const end = value.indexOf(',', i);
      v = (end < 0 ? value.slice(i) : value.slice(i, end)).trim();
      i = end < 0 ? value.length : end;
    }
    params.set(key, v);
  }
  return params;
}

/** A WWW-Authenticate / Proxy-Authenticate header value as a challenge, or undefined if unusable. */
export function parseChallenge(value: string): DigestChallenge | undefined {
  const p = parseAuthParams(value);
  if (p === undefined) return undefined;
  const realm = p.get('realm');
  const nonce = p.get('nonce');
  if (realm === undefined || nonce === undefined) return undefined;
  const algorithm = normaliseAlgorithm(p.get('algorithm') ?? 'MD5');
  if (algorithm === undefined) return undefined;
  const opaque = p.get('opaque');
  return {
    realm,
    nonce,
    algorithm,
    qop: (p.get('qop') ?? '').split(',').map((q) => q.trim()).filter((q) => q.length > 0),
    stale: (p.get('stale') ?? '').toLowerCase() === 'true',
    ...(opaque !== undefined ? { opaque } : {}),
  };
}

function normaliseAlgorithm(a: string): DigestAlgorithm | undefined {
  return ALGORITHMS.find((x) => x.toLowerCase() === a.toLowerCase());
}

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5').update(text, 'utf8').digest('hex');
}

export interface DigestInputs {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  readonly password: string;
  readonly method: string;
  readonly uri: string;
  readonly nonce: string;
  readonly qop?: 'auth';
  readonly cnonce?: string;
  /** Nonce count as 8 hex digits. */
  readonly nc?: string;
}

/** The `response` value of RFC 7616 §3.4.1. */
export function digestResponse(i: DigestInputs): string {
  let ha1 = hash(i.algorithm, `${i.username}:${i.realm}:${i.password}`);
  if (i.algorithm.endsWith('-sess')) ha1 = hash(i.algorithm, `${ha1}:${i.nonce}:${i.cnonce ?? ''}`);
  const ha2 = hash(i.algorithm, `${i.method}:${i.uri}`);
  return i.qop === 'auth'
    ? hash(i.algorithm, `${ha1}:${i.nonce}:${i.nc ?? '00000001'}:${i.cnonce ?? ''}:auth:${ha2}`)
    : hash(i.algorithm, `${ha1}:${i.nonce}:${ha2}`);
}

/** Build an Authorization / Proxy-Authorization header value answering `challenge`. */
export function authorize(
  challenge: DigestChallenge,
  credentials: DigestCredentials,
  method: string,
  uri: string,
  nonceCount = 1,
  cnonce: string = randomBytes(8).toString('hex'),
): string {
  const qop = challenge.qop.includes('auth') ? 'auth' : undefined;
  const nc = nonceCount.toString(16).padStart(8, '0');
  const response = digestResponse({
    algorithm: challenge.algorithm,
    username: credentials.username,
    realm: challenge.realm,
    password: credentials.password,
    method,
    uri,
    nonce: challenge.nonce,
    ...(qop !== undefined ? { qop, cnonce, nc } : challenge.algorithm.endsWith('-sess') ? { cnonce } : {}),
  });
  const parts = [
    `username="${quote(credentials.username)}"`,
    `realm="${quote(challenge.realm)}"`,
    `nonce="${quote(challenge.nonce)}"`,
    `uri="${quote(uri)}"`,
    `response="${response}"`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce="${cnonce}"`);
  else if (challenge.algorithm.endsWith('-sess')) parts.push(`cnonce="${cnonce}"`);
  if (challenge.opaque !== undefined) parts.push(`opaque="${quote(challenge.opaque)}"`);
  return `Digest ${parts.join(', ')}`;
}

function quote(s: string): string {
  return s.replace(/["\\]/g, (c) => `\\${c}`);
}

export type VerifyResult = 'ok' | 'stale' | 'invalid';

/**
 * Server side: issues challenges and checks answers. Nonces are `<ms timestamp>.<hmac>` so nothing is stored
 * per request; an expired but genuine nonce gives 'stale' (the client retries without asking the user).
 */
export class DigestVerifier {
  readonly #secret: Buffer;
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(options: { lifetimeMs?: number; now?: () => number; secret?: Buffer } = {}) {
    this.#secret = options.secret ?? randomBytes(32);
    this.#lifetimeMs = options.lifetimeMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  /** A WWW-Authenticate header value. */
  challenge(realm: string, algorithm: DigestAlgorithm = 'SHA-256', stale = false): string {
    const ts = String(Math.floor(this.#now()));
    const nonce = `${ts}.${this.#mac(ts)}`;
    return `Digest realm="${quote(realm)}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /**
   * Check an Authorization header value for `method`, with the expected user and password. Only the algorithms
   * that were challenged are accepted, and only with qop=auth (our challenges always offer it), so a client cannot
   * downgrade to MD5 or to the weaker RFC 2069 form.
   */
  verify(
    value: string,
    method: string,
    realm: string,
    credentials: DigestCredentials,
    algorithms: readonly DigestAlgorithm[] = ALGORITHMS,
  ): VerifyResult {
    const p = parseAuthParams(value);
    if (p === undefined) return 'invalid';
    const nonce = p.get('nonce') ?? '';
    const [ts = '', mac = ''] = nonce.split('.');
    const expected = this.#mac(ts);
    if (mac.length !== expected.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expected))) return 'invalid';
    if (p.get('username') !== credentials.username || p.get('realm') !== realm) return 'invalid';
    const algorithm = normaliseAlgorithm(p.get('algorithm') ?? 'MD5');
    const uri = p.get('uri');
    const response = p.get('response');
    if (algorithm === undefined || uri === undefined || response === undefined) return 'invalid';
    if (!algorithms.includes(algorithm)) return 'invalid';
    const qop = p.get('qop');
    if (qop !== 'auth') return 'invalid';
    const cnonce = p.get('cnonce');
    const nc = p.get('nc');
    const want = digestResponse({
      algorithm,
      username: credentials.username,
      realm,
      password: credentials.password,
      method,
      uri,
      nonce,
      ...(qop === 'auth' ? { qop: 'auth' as const } : {}),
      ...(cnonce !== undefined ? { cnonce } : {}),
      ...(nc !== undefined ? { nc } : {}),
    });
    if (want.length !== response.length || !timingSafeEqual(Buffer.from(want), Buffer.from(response.toLowerCase()))) {
      return 'invalid';
    }
    const age = this.#now() - Number(ts);
    return Number.isFinite(age) && age >= 0 && age <= this.#lifetimeMs ? 'ok' : 'stale';
  }

  #mac(ts: string): string {
    return createHmac('sha256', this.#secret).update(ts).digest('base64url').slice(0, 22);
  }
}
