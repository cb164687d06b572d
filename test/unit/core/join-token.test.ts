import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeJoinToken, JoinTokenError, JoinTokens, signJoinToken, type JtiStore } from '../../../src/core/join-token.ts';

const SECRET = 'k'.repeat(32);

function memoryStore(): JtiStore & { used: Map<string, number> } {
  const used = new Map<string, number>();
  return {
    used,
    async consume(jti, expiresAt) {
      if (used.has(jti)) return false;
      used.set(jti, expiresAt);
      return true;
    },
  };
}

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof JoinTokenError) return `${err.reason}:${err.code}`;
    throw err;
  }
  return 'accepted';
}

describe('join tokens', () => {
  it('issues a token that verifies once, with its claims', async () => {
    let now = 1_700_000_000_000;
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 60, store: memoryStore(), now: () => now });
    const { token, claims } = tokens.issue('call-1');
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(claims).toMatchObject({ callId: 'call-1', exp: 1_700_000_060 });
    now += 59_000;
    expect(await tokens.verify(token)).toEqual(claims);
  });

  it('refuses a reused token', async () => {
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 60, store: memoryStore() });
    const { token } = tokens.issue('c');
    await tokens.verify(token);
    expect(await reason(tokens.verify(token))).toBe('reused:CR_JOIN_TOKEN_REUSED');
  });

  it('refuses an expired token, at and after exp, without consuming it', async () => {
    let now = 1_000_000;
    const store = memoryStore();
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 10, store, now: () => now });
    const { token } = tokens.issue('c');
    now += 10_000;
    expect(await reason(tokens.verify(token))).toBe('expired:CR_JOIN_TOKEN_EXPIRED');
    now += 1_000_000;
    expect(await reason(tokens.verify(token))).toBe('expired:CR_JOIN_TOKEN_EXPIRED');
    expect(store.used.size).toBe(0);
  });

  it('refuses forged tokens: another secret, a changed payload, a changed signature', async () => {
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 60, store: memoryStore() });
    const other = new JoinTokens({ secret: 'x'.repeat(32), ttlSeconds: 60, store: memoryStore() });
    expect(await reason(tokens.verify(other.issue('c').token))).toBe('forged:CR_JOIN_TOKEN_FORGED');

    const { token } = tokens.issue('victim');
    const [payload, sig] = token.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const swapped = Buffer.from(JSON.stringify({ ...claims, callId: 'other-call' })).toString('base64url');
    expect(await reason(tokens.verify(`${swapped}.${sig}`))).toBe('forged:CR_JOIN_TOKEN_FORGED');
    const extended = Buffer.from(JSON.stringify({ ...claims, exp: 9_999_999_999 })).toString('base64url');
    expect(await reason(tokens.verify(`${extended}.${sig}`))).toBe('forged:CR_JOIN_TOKEN_FORGED');
    const flipped = `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    expect(await reason(tokens.verify(`${payload}.${flipped}`))).toBe('forged:CR_JOIN_TOKEN_FORGED');
    // The untouched token still works: the failed attempts did not consume it.
    expect((await tokens.verify(token)).callId).toBe('victim');
  });

  it('refuses malformed tokens of every shape without throwing anything else', async () => {
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 60, store: memoryStore() });
    const good = tokens.issue('c').token;
    const [payload, sig] = good.split('.') as [string, string];
    const bad: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      '.',
      'abc',
      `${payload}.`,
      `.${sig}`,
      `${payload}.${sig}.extra`,
      `${payload}.${sig}=`,
      `${payload}.${sig.slice(0, -1)}`,
      `${payload}+.${sig}`,
      `${payload} .${sig}`,
      'a'.repeat(5000),
      `${'a'.repeat(2000)}.${sig}`,
      // Non-canonical last character: decodes to the same bytes, is not the token that was issued.
      `${payload}.${sig.slice(0, -1)}${String.fromCharCode(sig.charCodeAt(42) + 1)}`,
    ];
    for (const t of bad) expect(await reason(tokens.verify(t)), JSON.stringify(t)?.slice(0, 40)).toMatch(/^(malformed|forged):/);
    expect(await reason(tokens.verify(`${payload}.${sig.slice(0, -1)}`))).toBe('malformed:CR_JOIN_TOKEN_MALFORMED');
  });

  it('a correctly signed payload that is not our claims is malformed', () => {
    const sign = (payloadJson: string) => {
      const p = Buffer.from(payloadJson).toString('base64url');
      return `${p}.${createHmac('sha256', SECRET).update(p).digest('base64url')}`;
    };
    for (const json of ['[]', 'null', '{"callId":"c","exp":"soon","jti":"j"}', '{"callId":"","exp":2000000000,"jti":"j"}', 'not json', '{"exp":2000000000,"jti":"j"}']) {
      expect(() => decodeJoinToken(SECRET, sign(json), 0), json).toThrow(expect.objectContaining({ reason: 'malformed' }));
    }
    expect(decodeJoinToken(SECRET, sign('{"callId":"c","exp":2000000000,"jti":"j"}'), 0)).toEqual({ callId: 'c', exp: 2_000_000_000, jti: 'j' });
  });

  it('verifies the token signJoinToken makes; refuses a secret shorter than 32 bytes', () => {
    const token = signJoinToken(SECRET, { callId: 'c', exp: 100, jti: 'j' });
    expect(decodeJoinToken(SECRET, token, 99)).toEqual({ callId: 'c', exp: 100, jti: 'j' });
    expect(() => signJoinToken('short', { callId: 'c', exp: 1, jti: 'j' })).toThrow(RangeError);
    expect(() => new JoinTokens({ secret: 'k'.repeat(31), ttlSeconds: 1, store: memoryStore() })).toThrow(RangeError);
  });

  it('a store that fails keeps the bearer out (its error, not an admission)', async () => {
    const tokens = new JoinTokens({ secret: SECRET, ttlSeconds: 60, store: { consume: () => Promise.reject(new Error('db down')) } });
    await expect(tokens.verify(tokens.issue('c').token)).rejects.toThrow('db down');
  });
});
