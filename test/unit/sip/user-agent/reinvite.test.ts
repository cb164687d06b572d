import { afterEach, describe, expect, it } from 'vitest';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { establish } from './support/established.ts';
import { sdp } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

function body(w: { message: { body: Uint8Array } }): string {
  return Buffer.from(w.message.body).toString();
}

describe('re-INVITE and UPDATE from the peer', () => {
  it('reports hold (sendonly) and resume (sendrecv), answering recvonly then sendrecv', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    const events: string[] = [];
    call.onHold(() => events.push('hold'));
    call.onResume(() => events.push('resume'));
    call.onMediaChange((a) => events.push(`media:${a.direction}`));

    h.transport.deliver(peer.request('INVITE', tag, { body: sdp({ direction: 'sendonly', version: 2 }) }));
    await flush();
    const holdOk = h.transport.last('SIP/2.0 200');
    expect(body(holdOk)).toContain('a=recvonly');
    expect(body(holdOk)).toMatch(/o=callroom \d+ 1 IN IP4/);
    expect(holdOk.message.get('contact')).toBe('<sip:127.0.0.1:5060>');
    expect(call.held).toBe(true);
    h.transport.deliver(peer.ackFor(holdOk));
    await flush();

    h.transport.deliver(peer.request('INVITE', tag, { body: sdp({ version: 3 }) }));
    await flush();
    const resumeOk = h.transport.last('SIP/2.0 200');
    expect(body(resumeOk)).toContain('a=sendrecv');
    expect(body(resumeOk)).toMatch(/o=callroom \d+ 2 IN IP4/);
    h.transport.deliver(peer.ackFor(resumeOk));
    await flush();
    expect(events).toEqual(['media:recvonly', 'hold', 'media:sendrecv', 'resume']);
    expect(h.media.endpoints[0]!.configured.map((a) => a.direction)).toEqual(['sendrecv', 'recvonly', 'sendrecv']);
  });

  it('treats c=0.0.0.0 as hold (RFC 2543 style) and an UPDATE offer like a re-INVITE', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    h.transport.deliver(peer.request('UPDATE', tag, { body: sdp({ address: '0.0.0.0', version: 2 }) }));
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    expect(ok.message.cseq?.method).toBe('UPDATE');
    expect(body(ok)).toContain('a=recvonly');
    expect(call.held).toBe(true);
    h.transport.deliver(peer.request('UPDATE', tag, { body: sdp({ version: 3 }) }));
    await flush();
    expect(call.held).toBe(false);
  });

  it('keeps the session on 488 for an offer it cannot take', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    const before = call.audio;
    h.transport.deliver(peer.request('INVITE', tag, { body: sdp({ payloads: [18], version: 2 }) }));
    await flush();
    const res = h.transport.last('SIP/2.0 488');
    h.transport.deliver(peer.ackFor(res).replace(/branch=[^\r]*/, `branch=${res.message.topVia?.branch ?? ''}`));
    await flush();
    expect(call.audio).toBe(before);
    expect(call.state).toBe('active');
    // The next re-INVITE is fine again.
    h.transport.deliver(peer.request('INVITE', tag, { body: sdp({ version: 3, port: 42_000 }) }));
    await flush();
    expect(h.transport.last('SIP/2.0 200').message.cseq?.method).toBe('INVITE');
  });

  it('offers in the 200 of a re-INVITE without SDP and applies the answer from the ACK', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    h.transport.deliver(peer.request('INVITE', tag));
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    expect(body(ok)).toContain('m=audio 30000 RTP/AVP 9 0 8 101');
    // A second re-INVITE before that ACK: our offer is outstanding.
    h.transport.deliver(peer.request('INVITE', tag, { body: sdp() }));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(491);
    h.transport.deliver(peer.ackFor(ok, { sdp: sdp({ port: 43_000, payloads: [8] }) }));
    await flush();
    expect(call.audio).toMatchObject({ codec: 'PCMA', remotePort: 43_000 });
  });
});

describe('our re-INVITE (hold/resume) and glare', () => {
  it('holds with sendonly, ACKs the 2xx and resumes', async () => {
    h = await harness();
    const { peer, call } = await establish(h);
    const holding = call.hold();
    await flush();
    const invite = h.transport.last('INVITE');
    expect(body(invite)).toContain('a=sendonly');
    expect(invite.message.requestUri).toBe('sip:caller@127.0.0.1:5070');
    expect(invite.message.get('contact')).toBe('<sip:127.0.0.1:5060>');
    h.transport.deliver(peer.respond(invite, 200, { body: sdp({ direction: 'recvonly' }), toTag: null }));
    await holding;
    const ack = h.transport.last('ACK');
    expect(ack.message.cseq).toEqual({ seq: invite.message.cseq!.seq, method: 'ACK' });
    expect(ack.message.requestUri).toBe('sip:callee@127.0.0.1:5070');
    expect(call.audio?.direction).toBe('sendonly');
    expect(call.held).toBe(false);
    // A retransmitted 2xx gets the same ACK again.
    h.transport.deliver(peer.respond(invite, 200, { body: sdp({ direction: 'recvonly' }), toTag: null }));
    await flush();
    expect(h.transport.of('ACK')).toHaveLength(2);
    const resuming = call.resume();
    await flush();
    const again = h.transport.last('INVITE');
    expect(body(again)).toContain('a=sendrecv');
    h.transport.deliver(peer.respond(again, 200, { body: sdp(), toTag: null }));
    await resuming;
    expect(call.audio?.direction).toBe('sendrecv');
  });

  it('answers 491 to the peer re-INVITE while ours is pending, and retries ours after the §14.1 delay', async () => {
    h = await harness({}, { random: () => 0.5 });
    const { peer, call, tag } = await establish(h);
    const holding = call.hold();
    await flush();
    const ours = h.transport.last('INVITE');
    // Glare: the peer's re-INVITE crosses ours.
    h.transport.deliver(peer.request('INVITE', tag, { body: sdp({ version: 2 }) }));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(491);
    h.transport.deliver(peer.respond(ours, 491, { toTag: null }));
    await flush();
    // We are not the Call-ID owner (the peer called): 0-2 s; random 0.5 -> 1000 ms.
    expect(h.transport.of('INVITE')).toHaveLength(1);
    await advance(h.clock, 990, 10);
    expect(h.transport.of('INVITE')).toHaveLength(1);
    await advance(h.clock, 20, 10);
    const retry = h.transport.last('INVITE');
    expect(h.transport.of('INVITE')).toHaveLength(2);
    expect(retry.message.cseq!.seq).toBeGreaterThan(ours.message.cseq!.seq);
    h.transport.deliver(peer.respond(retry, 200, { body: sdp({ direction: 'recvonly' }), toTag: null }));
    await holding;
    expect(call.audio?.direction).toBe('sendonly');
  });

  it('ends the call with BYE when a re-INVITE gets 481 (§14.1)', async () => {
    h = await harness();
    const { peer, call } = await establish(h);
    const holding = call.hold().catch((e: unknown) => e);
    await flush();
    h.transport.deliver(peer.respond(h.transport.last('INVITE'), 481, { toTag: null }));
    expect(await holding).toMatchObject({ code: 'CR_SIP_REQUEST_FAILED', status: 481 });
    await flush();
    expect(h.transport.of('BYE')).toHaveLength(1);
    expect(await call.ended).toEqual({ reason: 'error', status: 481 });
  });

  it('refuses a second hold while one is in progress', async () => {
    h = await harness();
    const { call } = await establish(h);
    const first = call.hold().catch(() => undefined);
    await expect(call.hold()).rejects.toMatchObject({ code: 'CR_SIP_CALL_BUSY' });
    void first;
  });
});
