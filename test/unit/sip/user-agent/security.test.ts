import { afterEach, describe, expect, it } from 'vitest';
import { authorize, parseChallenge, DigestVerifier } from '../../../../src/sip/auth/digest.ts';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { Peer, sdp, STRANGER } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

describe('inbound security', () => {
  it('answers 403 to an INVITE from an unknown source without allocating anything', async () => {
    h = await harness();
    h.transport.deliver(new Peer({ address: STRANGER.address }).invite({ sdp: sdp() }), STRANGER);
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 403 Forbidden']);
    expect(h.calls).toHaveLength(0);
    expect(h.media.endpoints).toHaveLength(0);
    expect(h.ua.transactionCount).toBe(0);
    expect(h.ua.dialogCount).toBe(0);
    expect(h.ua.stats.rejectedSources).toBe(1);
  });

  it("says nothing at all with unknownSource 'drop', also to OPTIONS", async () => {
    h = await harness({ unknownSource: 'drop' });
    const stranger = new Peer({ address: STRANGER.address });
    h.transport.deliver(stranger.invite({ sdp: sdp() }), STRANGER);
    h.transport.deliver(stranger.request('OPTIONS', 'x').replace(/;tag=x/, ''), STRANGER);
    await advance(h.clock, 1_000);
    expect(h.transport.wire).toHaveLength(0);
    expect(h.ua.transactionCount).toBe(0);
    expect(h.ua.stats.droppedSources).toBe(2);
    // A known source is still served.
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(1);
  });

  it("takes calls from anywhere with unknownSource 'allow' (no trunk named)", async () => {
    h = await harness({ unknownSource: 'allow', trunks: [] });
    h.transport.deliver(new Peer({ address: STRANGER.address }).invite({ sdp: sdp() }), STRANGER);
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]!.trunk).toBeUndefined();
  });

  it('a flood of INVITEs from an unknown source leaves no state behind', async () => {
    h = await harness();
    const used = process.memoryUsage().heapUsed;
    for (let i = 0; i < 5_000; i++) {
      h.transport.deliver(new Peer({ address: STRANGER.address, callId: `flood-${i}` }).invite({ sdp: sdp() }), STRANGER);
    }
    await flush();
    expect(h.ua.transactionCount).toBe(0);
    expect(h.ua.dialogCount).toBe(0);
    expect(h.ua.calls).toHaveLength(0);
    expect(h.media.endpoints).toHaveLength(0);
    expect(h.clock.pending).toBe(0);
    expect(h.ua.stats.rejectedSources).toBe(5_000);
    h.transport.wire.length = 0;
    // Nothing per call is retained (generous bound: the wire log above was the only growth).
    expect(process.memoryUsage().heapUsed - used).toBeLessThan(64 * 1024 * 1024);
  });

  describe('digest-authenticated trunk', () => {
    const trunk = { name: 'carrier', cidrs: [], auth: { username: 'carrier', password: 's3cret', realm: 'callroom.test' } };

    it('challenges with SHA-256 and MD5 (stateless), then takes the authenticated retry', async () => {
      h = await harness({ trunks: [trunk] });
      const peer = new Peer({ address: STRANGER.address });
      h.transport.deliver(peer.invite({ sdp: sdp() }), STRANGER);
      await flush();
      const challenge = h.transport.last('SIP/2.0 401');
      const values = challenge.message.lines('www-authenticate');
      expect(values.map((v) => parseChallenge(v)?.algorithm)).toEqual(['SHA-256', 'MD5']);
      expect(h.ua.transactionCount).toBe(0);
      expect(h.media.endpoints).toHaveLength(0);
      for (const algorithm of ['MD5', 'SHA-256'] as const) {
        const c = values.map((v) => parseChallenge(v)!).find((x) => x.algorithm === algorithm)!;
        peer.cseq++;
        const auth = authorize(c, { username: 'carrier', password: 's3cret' }, 'INVITE', 'sip:agent@127.0.0.1:5060');
        h.transport.deliver(peer.invite({ sdp: sdp(), extra: [`Authorization: ${auth}`] }), STRANGER);
        await flush();
      }
      expect(h.calls).toHaveLength(2);
      expect(h.calls[0]!.trunk).toBe('carrier');
    });

    it('challenges again on a wrong password, and says stale for an expired nonce', async () => {
      let now = 1_000_000;
      h = await harness({ trunks: [trunk] }, { digestVerifier: new DigestVerifier({ now: () => now, lifetimeMs: 10_000 }) });
      const peer = new Peer({ address: STRANGER.address });
      h.transport.deliver(peer.invite({ sdp: sdp() }), STRANGER);
      await flush();
      const c = parseChallenge(h.transport.last('SIP/2.0 401').message.lines('www-authenticate')[0]!)!;
      peer.cseq++;
      h.transport.deliver(peer.invite({ sdp: sdp(), extra: [`Authorization: ${authorize(c, { username: 'carrier', password: 'wrong' }, 'INVITE', 'sip:agent@127.0.0.1:5060')}`] }), STRANGER);
      await flush();
      expect(h.transport.of('SIP/2.0 401')).toHaveLength(2);
      expect(h.calls).toHaveLength(0);
      now += 60_000;
      peer.cseq++;
      h.transport.deliver(peer.invite({ sdp: sdp(), extra: [`Authorization: ${authorize(c, { username: 'carrier', password: 's3cret' }, 'INVITE', 'sip:agent@127.0.0.1:5060')}`] }), STRANGER);
      await flush();
      const stale = h.transport.last('SIP/2.0 401').message.lines('www-authenticate').map((v) => parseChallenge(v)!);
      expect(stale.every((x) => x.stale)).toBe(true);
      expect(h.calls).toHaveLength(0);
    });

    it('a trunk with both cidrs and auth challenges only its own sources', async () => {
      h = await harness({ trunks: [{ ...trunk, cidrs: ['127.0.0.0/8'] }] });
      h.transport.deliver(new Peer({ address: STRANGER.address }).invite({ sdp: sdp() }), STRANGER);
      h.transport.deliver(new Peer().invite({ sdp: sdp() }));
      await flush();
      expect(h.transport.lines()).toEqual(['SIP/2.0 403 Forbidden', 'SIP/2.0 401 Unauthorized']);
    });
  });

  it('matches IPv6 and IPv4-mapped sources against trunk CIDRs', async () => {
    h = await harness({ trunks: [{ name: 'v6', cidrs: ['2001:db8::/32', '198.51.100.0/24'] }] });
    h.transport.deliver(new Peer({ address: '2001:db8::5' }).invite({ sdp: sdp() }), { address: '2001:db8::5' });
    h.transport.deliver(new Peer({ address: '198.51.100.7' }).invite({ sdp: sdp() }), { address: '::ffff:198.51.100.7' });
    await flush();
    expect(h.calls.map((c) => c.trunk)).toEqual(['v6', 'v6']);
  });

  it('refuses a config with a malformed CIDR', async () => {
    await expect(harness({ trunks: [{ name: 'bad', cidrs: ['10.0.0.0/40'] }] })).rejects.toMatchObject({ code: 'CR_CONFIG_INVALID' });
  });
});
