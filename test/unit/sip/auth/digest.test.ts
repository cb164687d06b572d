import { describe, expect, it } from 'vitest';
import { authorize, digestResponse, DigestVerifier, parseAuthParams, parseChallenge } from '../../../../src/sip/auth/digest.ts';

describe('digest', () => {
  it('matches the RFC 2617 §3.5 worked example (MD5, qop=auth)', () => {
    expect(
      digestResponse({
        algorithm: 'MD5',
        username: 'Mufasa',
        realm: 'testrealm@host.com',
        password: 'Circle Of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        nc: '00000001',
        cnonce: '0a4f113b',
      }),
    ).toBe('6629fae49393a05397450978507c4ef1');
  });

  it('matches the RFC 7616 §3.9.1 SHA-256 example', () => {
    expect(
      digestResponse({
        algorithm: 'SHA-256',
        username: 'Mufasa',
        realm: 'http-auth@example.org',
        password: 'Circle of Life',
        method: 'GET',
        uri: '/dir/index.html',
        nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
        qop: 'auth',
        nc: '00000001',
        cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('parses challenges with quoting, escapes and several qop values', () => {
    const c = parseChallenge('Digest realm="atlanta.example.com", nonce="ab\\"c", qop="auth,auth-int", algorithm=SHA-256, opaque="x", stale=TRUE');
    expect(c).toEqual({ realm: 'atlanta.example.com', nonce: 'ab"c', qop: ['auth', 'auth-int'], algorithm: 'SHA-256', opaque: 'x', stale: true });
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenge('Digest realm="x", nonce="unterminated')).toBeUndefined();
    expect(parseChallenge('Digest realm="x", nonce="n", algorithm=SHA-512-256')).toBeUndefined();
    expect(parseAuthParams('Digest junk')).toBeUndefined();
  });

  for (const algorithm of ['MD5', 'SHA-256', 'MD5-sess', 'SHA-256-sess'] as const) {
    it(`client and verifier agree (${algorithm})`, () => {
      let now = 1_000_000;
      const v = new DigestVerifier({ now: () => now, lifetimeMs: 60_000 });
      const challenge = parseChallenge(v.challenge('callroom', algorithm));
      expect(challenge?.algorithm).toBe(algorithm);
      const creds = { username: 'trunk', password: 's3cret' };
      const header = authorize(challenge!, creds, 'INVITE', 'sip:agent@127.0.0.1');
      expect(v.verify(header, 'INVITE', 'callroom', creds)).toBe('ok');
      expect(v.verify(header, 'INVITE', 'callroom', { ...creds, password: 'wrong' })).toBe('invalid');
      expect(v.verify(header, 'BYE', 'callroom', creds)).toBe('invalid');
      now += 61_000;
      expect(v.verify(header, 'INVITE', 'callroom', creds)).toBe('stale');
    });
  }

  it('accepts only the challenged algorithms, and only with qop=auth', () => {
    const v = new DigestVerifier();
    const creds = { username: 'u', password: 'p' };
    // A client that downgrades to MD5 when only SHA-256 was challenged is refused.
    const md5 = authorize(parseChallenge(v.challenge('r', 'MD5'))!, creds, 'INVITE', 'sip:x@y');
    expect(v.verify(md5, 'INVITE', 'r', creds, ['SHA-256'])).toBe('invalid');
    expect(v.verify(md5, 'INVITE', 'r', creds, ['SHA-256', 'MD5'])).toBe('ok');
    // RFC 2069 style (no qop) is refused: our challenges always offer qop=auth.
    const noQop = authorize({ ...parseChallenge(v.challenge('r', 'SHA-256'))!, qop: [] }, creds, 'INVITE', 'sip:x@y');
    expect(noQop).not.toContain('qop=');
    expect(v.verify(noQop, 'INVITE', 'r', creds)).toBe('invalid');
  });

  it('refuses nonces it did not issue', () => {
    const a = new DigestVerifier();
    const b = new DigestVerifier();
    const creds = { username: 'u', password: 'p' };
    const header = authorize(parseChallenge(b.challenge('r'))!, creds, 'INVITE', 'sip:x@y');
    expect(a.verify(header, 'INVITE', 'r', creds)).toBe('invalid');
    expect(a.verify('Digest username="u"', 'INVITE', 'r', creds)).toBe('invalid');
  });
});
