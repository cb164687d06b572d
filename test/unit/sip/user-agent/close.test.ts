import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../../../src/config/schema.ts';
import type { SipUserAgentConfig } from '../../../../src/sip/user-agent/user-agent-config.ts';
import { advance, flush, harness } from './support/harness.ts';
import { establish } from './support/established.ts';
import { Peer, sdp } from './support/peer.ts';

describe('close()', () => {
  it('hangs up every call, answers new requests 503 meanwhile, and leaves no timer running', async () => {
    const h = await harness();
    const { peer: a, call: active } = await establish(h);
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    const ringing = h.calls[1]!;
    const closing = h.ua.close();
    await flush();
    expect(h.transport.last('BYE').message.to?.tag).toBe(a.fromTag);
    expect(h.transport.last('SIP/2.0 603').message.callId).toBe(ringing.id);
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(503);
    h.transport.deliver(a.respond(h.transport.last('BYE'), 200, { toTag: null }));
    await closing;
    expect(await active.ended).toEqual({ reason: 'local-bye' });
    expect(await ringing.ended).toEqual({ reason: 'rejected', status: 603 });
    expect(h.media.open).toBe(0);
    expect(h.ua.calls).toHaveLength(0);
    expect(h.ua.transactionCount).toBe(0);
    expect(h.clock.pending).toBe(0);
    // A transport it was given is not its to close.
    expect(h.transport.closed).toBe(false);
    await expect(h.ua.dial({ target: 'sip:bob@127.0.0.1:5070' })).rejects.toMatchObject({ code: 'CR_SIP_UA_CLOSED' });
  });

  it('does not wait longer than closeTimeoutMs for a peer that never answers the BYE', async () => {
    const h = await harness({}, { closeTimeoutMs: 2_000 });
    const { call } = await establish(h);
    let done = false;
    const closing = h.ua.close().then(() => (done = true));
    await advance(h.clock, 1_900, 100);
    expect(done).toBe(false);
    await advance(h.clock, 200, 100);
    await closing;
    expect(call.state).toBe('ended');
    expect(h.clock.pending).toBe(0);
  });
});

describe('configuration', () => {
  it('takes Config["sip"] as it is', () => {
    const sip: Config['sip'] = configSchema.parse({}).sip;
    const asUa: SipUserAgentConfig = sip;
    expect(asUa.unknownSource).toBe('reject');
  });
});
