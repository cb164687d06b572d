import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { SourceRateLimiter } from '../../../../src/sip/user-agent/source-rate-limit.ts';
import { establish } from './support/established.ts';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { header, Peer, sdp, STRANGER } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

function options(peer: Peer): string {
  return peer.request('OPTIONS', 'x').replace(/;tag=x/, '');
}

describe('draining user agent', () => {
  it('answers new INVITEs and OPTIONS 503 with Retry-After, and lets the calls in progress finish', async () => {
    h = await harness();
    const live = await establish(h);
    h.ua.drain(45);
    expect(h.ua.draining).toBe(true);
    h.transport.wire.length = 0;
    h.transport.deliver(options(new Peer()));
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    const refused = h.transport.lines();
    expect(refused).toEqual(['SIP/2.0 503 Draining', 'SIP/2.0 503 Draining']);
    for (const prefix of ['SIP/2.0 503']) expect(header(h.transport.last(prefix), 'retry-after')).toBe('45');
    expect(h.calls).toHaveLength(1);
    expect(h.ua.stats.drainRefused).toBe(2);
    // The live call's BYE is still answered.
    h.transport.deliver(live.peer.request('BYE', live.tag));
    await flush();
    expect(h.transport.last('SIP/2.0 200').message.cseq?.method).toBe('BYE');
    expect(live.call.state).toBe('ended');
  });
});

describe('per-source rate limit', () => {
  it('drops requests over the bucket from a source outside the trunks, and refills with time', async () => {
    h = await harness({ rateLimit: { requestsPerSecond: 2, burst: 5 } });
    const stranger = new Peer({ address: STRANGER.address });
    for (let i = 0; i < 8; i++) h.transport.deliver(options(stranger), STRANGER);
    await flush();
    expect(h.transport.lines().filter((l) => l === 'SIP/2.0 200 OK')).toHaveLength(5);
    expect(h.ua.stats.rateLimited).toBe(3);
    // Nothing was kept for what was dropped.
    expect(h.ua.transactionCount).toBe(5);
    h.transport.wire.length = 0;
    await advance(h.clock, 1_000);
    for (let i = 0; i < 3; i++) h.transport.deliver(options(stranger), STRANGER);
    await flush();
    // One second at 2/s: two more.
    expect(h.transport.lines().filter((l) => l === 'SIP/2.0 200 OK')).toHaveLength(2);
  });

  it('answers 503 statelessly with action reject, and leaves trunk addresses alone', async () => {
    h = await harness({ rateLimit: { requestsPerSecond: 1, burst: 2, action: 'reject' } });
    const stranger = new Peer({ address: STRANGER.address });
    for (let i = 0; i < 4; i++) h.transport.deliver(options(stranger), STRANGER);
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK', 'SIP/2.0 503 Rate Limited', 'SIP/2.0 503 Rate Limited']);
    expect(h.ua.transactionCount).toBe(2);
    // The trunk (127.0.0.1) is exempt by default: a burst of calls all get through.
    for (let i = 0; i < 10; i++) h.transport.deliver(new Peer({ callId: `trunk-${i}` }).invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(10);
  });

  it('limits trunk addresses too when they are not exempt; in-dialog requests are never limited', async () => {
    h = await harness({ rateLimit: { requestsPerSecond: 1, burst: 2, exemptTrunks: false } });
    const a = await establish(h, { peer: new Peer({ callId: 'a' }) });
    await establish(h, { peer: new Peer({ callId: 'b' }) });
    h.transport.deliver(new Peer({ callId: 'c' }).invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(2);
    for (let i = 0; i < 5; i++) h.transport.deliver(a.peer.request('INFO', a.tag, { body: 'Signal=1\r\nDuration=100\r\n', contentType: 'application/dtmf-relay' }));
    await flush();
    expect(h.transport.lines().filter((l) => l === 'SIP/2.0 200 OK').length).toBeGreaterThanOrEqual(2 + 5);
  });
});

describe('SourceRateLimiter', () => {
  it('keeps at most maxSources buckets, forgetting the longest idle', () => {
    const clock = new FakeClock();
    const rl = new SourceRateLimiter({ requestsPerSecond: 1, burst: 1, maxSources: 16 }, clock);
    expect(rl.allow('10.0.0.1')).toBe(true);
    expect(rl.allow('10.0.0.1')).toBe(false);
    for (let i = 0; i < 1_000; i++) rl.allow(`198.51.100.${i % 250}.${i}`);
    expect(rl.size).toBe(16);
    // The first source was forgotten: it starts from a full bucket.
    expect(rl.allow('10.0.0.1')).toBe(true);
    // A source in use stays.
    clock.advance(1_000);
    expect(rl.allow('10.0.0.1')).toBe(true);
    for (let i = 0; i < 15; i++) rl.allow(`203.0.113.${i}`);
    expect(rl.allow('10.0.0.1')).toBe(false);
  });
});
