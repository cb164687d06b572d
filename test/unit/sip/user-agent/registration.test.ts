import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthParams } from '../../../../src/sip/auth/digest.ts';
import type { RegistrationStatus } from '../../../../src/sip/user-agent/registration.ts';
import { refreshDelayMs } from '../../../../src/sip/user-agent/registration.ts';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { Peer, header } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

const REG = { registrar: 'sip:127.0.0.1:5070', aor: 'sip:1000@carrier.test', username: '1000', password: 'pw', expires: 120 };
const registrar = new Peer();

describe('registration', () => {
  it('refreshes at 80% of short and expires-30 s of long lifetimes, never before half', () => {
    expect(refreshDelayMs(3600)).toBe(2_880_000);
    expect(refreshDelayMs(120)).toBe(90_000);
    expect(refreshDelayMs(60)).toBe(30_000);
    expect(refreshDelayMs(4)).toBe(2_000);
  });

  it('registers with digest auth, refreshes before expiry with cached credentials, unregisters on close', async () => {
    h = await harness({ registrations: [REG] });
    const states: RegistrationStatus[] = [];
    h.ua.onRegistration((s) => states.push(s));
    await flush();
    const first = h.transport.last('REGISTER');
    expect(first.message.requestUri).toBe('sip:127.0.0.1:5070');
    expect(header(first, 'to')).toBe('<sip:1000@carrier.test>');
    expect(header(first, 'contact')).toBe('<sip:1000@127.0.0.1:5060>');
    expect(header(first, 'expires')).toBe('120');
    h.transport.deliver(registrar.respond(first, 401, { extra: ['WWW-Authenticate: Digest realm="carrier", nonce="abc", qop="auth", algorithm=MD5'] }));
    await flush();
    const second = h.transport.last('REGISTER');
    expect(second.message.callId).toBe(first.message.callId);
    expect(second.message.cseq?.seq).toBe(2);
    expect(parseAuthParams(header(second, 'authorization'))?.get('nc')).toBe('00000001');
    h.transport.deliver(registrar.respond(second, 200, { extra: ['Contact: <sip:1000@127.0.0.1:5060>;expires=60'] }));
    await flush();
    expect(h.ua.registrations()).toEqual([{ aor: REG.aor, state: 'registered', status: 200, expires: 60 }]);

    // Refresh at 30 s (min(80%, expires - 30)), carrying the cached credentials with the next nonce count.
    await advance(h.clock, 29_900, 1_000);
    expect(h.transport.of('REGISTER')).toHaveLength(2);
    await advance(h.clock, 200, 100);
    const refresh = h.transport.last('REGISTER');
    expect(h.transport.of('REGISTER')).toHaveLength(3);
    expect(refresh.message.cseq?.seq).toBe(3);
    expect(parseAuthParams(header(refresh, 'authorization'))?.get('nc')).toBe('00000002');
    h.transport.deliver(registrar.respond(refresh, 200, { extra: ['Expires: 90'] }));
    await flush();
    expect(h.ua.registrations()[0]?.expires).toBe(90);

    const closing = h.ua.close();
    await flush();
    const unregister = h.transport.last('REGISTER');
    expect(header(unregister, 'expires')).toBe('0');
    h.transport.deliver(registrar.respond(unregister, 200));
    await closing;
    h = undefined;
    expect(states.map((s) => s.state)).toEqual(['registered', 'registered', 'unregistered']);
  });

  it('honours 423 Min-Expires and retries failures with backoff', async () => {
    h = await harness({ registrations: [REG] });
    await flush();
    h.transport.deliver(registrar.respond(h.transport.last('REGISTER'), 423, { extra: ['Min-Expires: 600'] }));
    await flush();
    expect(header(h.transport.last('REGISTER'), 'expires')).toBe('600');
    h.transport.deliver(registrar.respond(h.transport.last('REGISTER'), 403));
    await flush();
    expect(h.ua.registrations()[0]).toMatchObject({ state: 'failed', status: 403 });
    const count = h.transport.of('REGISTER').length;
    await advance(h.clock, 30_000, 1_000);
    expect(h.transport.of('REGISTER')).toHaveLength(count + 1);
  });

  it('fails at once, sending nothing, for a registrar host name (no DNS)', async () => {
    h = await harness({ registrations: [{ ...REG, registrar: 'sip:sip.carrier.example:5060' }] });
    await flush();
    expect(h.transport.of('REGISTER')).toHaveLength(0);
    expect(h.ua.registrations()[0]).toMatchObject({ state: 'failed' });
    expect(h.ua.registrations()[0]?.error).toMatch(/CR_SIP_TRANSPORT_NEEDS_DNS/);
  });
});
