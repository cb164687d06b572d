import { afterEach, describe, expect, it } from 'vitest';
import { advance, closeHarness, flush, harness, T1, type Harness } from './support/harness.ts';
import { Peer, header, sdp } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

describe('inbound call (UAS)', () => {
  it('rings, answers with SDP, confirms on ACK and ends on BYE', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(1);
    const call = h.calls[0]!;
    expect(call.state).toBe('ringing');
    expect(call.trunk).toBe('local');
    const ringing = h.transport.last('SIP/2.0 180');
    const tag = ringing.message.to?.tag;
    expect(tag).toBeDefined();
    expect(header(ringing, 'contact')).toBe('<sip:127.0.0.1:5060>');

    const answered = call.answer();
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    expect(ok.message.to?.tag).toBe(tag);
    expect(ok.message.contentType?.mime).toBe('application/sdp');
    const body = Buffer.from(ok.message.body).toString();
    expect(body).toContain('m=audio 30000 RTP/AVP 0 101');
    expect(call.state).toBe('answering');
    expect(h.media.endpoints[0]!.configured).toHaveLength(1);
    expect(call.audio?.codec).toBe('PCMU');

    h.transport.deliver(peer.ackFor(ok));
    await answered;
    expect(call.state).toBe('active');

    const ended = call.ended;
    h.transport.deliver(peer.request('BYE', tag!));
    await flush();
    expect(h.transport.last('SIP/2.0 200').message.cseq?.method).toBe('BYE');
    expect(await ended).toEqual({ reason: 'remote-bye' });
    expect(h.media.open).toBe(0);
    expect(h.ua.dialogCount).toBe(0);
    expect(h.ua.calls).toHaveLength(0);
  });

  it('retransmits the 2xx from T1 doubling to T2 and sends BYE after 64*T1 without ACK', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    const answering = h.calls[0]!.answer().catch((err: unknown) => err);
    await flush();
    await advance(h.clock, 64 * T1 + 100, 50);
    const oks = h.transport.of('SIP/2.0 200');
    const gaps = oks.slice(1).map((o, i) => o.at - oks[i]!.at);
    expect(gaps.slice(0, 5)).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(h.transport.of('BYE')).toHaveLength(1);
    expect((await answering) as Error).toMatchObject({ code: 'CR_TIMEOUT' });
    expect(await h.calls[0]!.ended).toEqual({ reason: 'timeout', status: 408 });
  });
});

describe('inbound call variations', () => {
  it('offers in the 200 when the INVITE has no SDP and takes the answer from the ACK', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite());
    await flush();
    const call = h.calls[0]!;
    const answered = call.answer();
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    const offer = Buffer.from(ok.message.body).toString();
    expect(offer).toContain('m=audio 30000 RTP/AVP 9 0 8 101');
    expect(h.media.endpoints[0]!.configured).toHaveLength(0);
    h.transport.deliver(peer.ackFor(ok, { sdp: sdp({ payloads: [8, 101], port: 41_000 }) }));
    await answered;
    expect(call.audio).toMatchObject({ codec: 'PCMA', remotePort: 41_000 });
    expect(h.media.endpoints[0]!.configured).toHaveLength(1);
  });

  it('ends the call with a BYE when the ACK brings no usable answer', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite());
    await flush();
    const answered = h.calls[0]!.answer().catch((e: unknown) => e);
    await flush();
    h.transport.deliver(peer.ackFor(h.transport.last('SIP/2.0 200')));
    expect(await answered).toMatchObject({ code: 'CR_SIP_REQUEST_FAILED', status: 488 });
    await flush();
    expect(h.transport.of('BYE')).toHaveLength(1);
    expect(await h.calls[0]!.ended).toEqual({ reason: 'error', status: 488 });
  });

  it('sends 183 with the answer and configures media before answering when earlyMedia is on', async () => {
    h = await harness({ earlyMedia: true });
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    expect(h.transport.of('SIP/2.0 180')).toHaveLength(0);
    const progress = h.transport.last('SIP/2.0 183');
    expect(Buffer.from(progress.message.body).toString()).toContain('m=audio 30000');
    expect(h.media.endpoints[0]!.configured).toHaveLength(1);
    // The 200 repeats the same answer (same o= version): media is not reconfigured.
    h.calls[0]!.answer().catch(() => undefined);
    await flush();
    expect(Buffer.from(h.transport.last('SIP/2.0 200').message.body).toString()).toBe(Buffer.from(progress.message.body).toString());
    expect(h.media.endpoints[0]!.configured).toHaveLength(1);
  });

  it('sends no 180 when ringing is off (the transaction still sends 100 Trying)', async () => {
    h = await harness({ ringing: false });
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await advance(h.clock, 300);
    expect(h.transport.lines()).toEqual(['SIP/2.0 100 Trying']);
  });

  it('answers CANCEL before the answer with 487 and ends with reason cancel', async () => {
    h = await harness();
    const peer = new Peer();
    const branch = peer.nextBranch();
    h.transport.deliver(peer.invite({ sdp: sdp(), branch }));
    await flush();
    const call = h.calls[0]!;
    h.transport.deliver(peer.cancel(branch));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    expect(h.transport.last('SIP/2.0 487').message.to?.tag).toBe(h.transport.last('SIP/2.0 180').message.to?.tag);
    expect(await call.ended).toEqual({ reason: 'cancel', status: 487 });
    await expect(call.answer()).rejects.toMatchObject({ code: 'CR_SIP_CALL_STATE' });
    expect(h.media.open).toBe(0);
  });

  it('rejects with the given status and releases media', async () => {
    h = await harness();
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    h.calls[0]!.reject(486, 'Busy Here');
    await flush();
    expect(h.transport.last('SIP/2.0 486').message.reason).toBe('Busy Here');
    expect(await h.calls[0]!.ended).toEqual({ reason: 'rejected', status: 486 });
    expect(h.media.open).toBe(0);
    expect(h.ua.dialogCount).toBe(0);
  });

  it('answers 480 when nobody listens for calls, and after the ring timeout', async () => {
    h = await harness({}, { listen: false });
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.transport.of('SIP/2.0 480')).toHaveLength(1);
    await h.ua.close();
    h = await harness({}, { ringTimeoutMs: 5_000 });
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    await advance(h.clock, 5_000, 500);
    expect(h.transport.of('SIP/2.0 480')).toHaveLength(1);
    expect(await h.calls[0]!.ended).toEqual({ reason: 'timeout', status: 480 });
  });

  it('answers 488 without allocating media when no codec fits', async () => {
    h = await harness({ codecs: ['G722'] });
    h.transport.deliver(new Peer().invite({ sdp: sdp({ payloads: [0, 8] }) }));
    await flush();
    const res = h.transport.last('SIP/2.0 488');
    expect(res.message.reason).toMatch(/no common audio codec/);
    expect(h.media.endpoints).toHaveLength(0);
    expect(h.calls).toHaveLength(0);
  });

  it('answers 503 when media cannot be allocated, and when maxDialogs is reached', async () => {
    h = await harness({ limits: { maxDialogs: 1 } });
    h.media.fail = true;
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.transport.last('SIP/2.0 503').message.get('retry-after')).toBe('5');
    expect(h.ua.stats.mediaFailures).toBe(1);
    h.media.fail = false;
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(1);
    const before = h.ua.transactionCount;
    h.transport.deliver(new Peer().invite({ sdp: sdp() }));
    await flush();
    expect(h.transport.of('SIP/2.0 503')).toHaveLength(2);
    expect(h.ua.stats.overCapacity).toBe(1);
    // Refused statelessly: no transaction, dialog or media kept for it.
    expect(h.ua.transactionCount).toBe(before);
    expect(h.media.endpoints).toHaveLength(1);
  });

  it('waits for an asynchronous media allocation, and drops it when the INVITE was cancelled meanwhile', async () => {
    h = await harness();
    h.media.deferred = true;
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    expect(h.calls).toHaveLength(0);
    h.media.complete();
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.transport.lines()).toEqual(['SIP/2.0 180 Ringing']);

    const late = new Peer();
    const branch = late.nextBranch();
    h.transport.deliver(late.invite({ sdp: sdp(), branch }));
    await flush();
    h.transport.deliver(late.cancel(branch));
    await flush();
    h.media.complete();
    await flush();
    expect(h.calls).toHaveLength(1);
    expect(h.transport.lines().slice(1)).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    // The 487 ends the INVITE's transaction with a To tag, as every final response to an INVITE must carry.
    expect(h.transport.wire.at(-1)!.message.to?.tag).toBeDefined();
    expect(h.media.endpoints[1]!.closed).toBe(1);
  });

  it('hangup while the 2xx awaits its ACK sends the BYE only after the ACK (§15)', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    const call = h.calls[0]!;
    call.answer().catch(() => undefined);
    await flush();
    const hangup = call.hangup();
    await flush();
    expect(h.transport.of('BYE')).toHaveLength(0);
    h.transport.deliver(peer.ackFor(h.transport.last('SIP/2.0 200')));
    await flush();
    const bye = h.transport.last('BYE');
    expect(bye.message.requestUri).toBe('sip:caller@127.0.0.1:5070');
    h.transport.deliver(peer.respond(bye, 200));
    await hangup;
    expect(await call.ended).toEqual({ reason: 'local-bye' });
  });

  it('BYE in an early dialog answers the INVITE 487 and ends the call', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }));
    await flush();
    const tag = h.transport.last('SIP/2.0 180').message.to!.tag!;
    h.transport.deliver(peer.request('BYE', tag));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK', 'SIP/2.0 487 Request Terminated']);
    expect(await h.calls[0]!.ended).toEqual({ reason: 'remote-bye' });
  });

  it('copies Record-Route into 180/200 and sends its BYE along the route set', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp(), extra: ['Record-Route: <sip:127.0.0.1:5080;lr>'] }));
    await flush();
    expect(h.transport.last('SIP/2.0 180').message.get('record-route')).toBe('<sip:127.0.0.1:5080;lr>');
    h.calls[0]!.answer().catch(() => undefined);
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    expect(ok.message.get('record-route')).toBe('<sip:127.0.0.1:5080;lr>');
    h.transport.deliver(peer.ackFor(ok));
    await flush();
    void h.calls[0]!.hangup();
    await flush();
    const bye = h.transport.last('BYE');
    expect(bye.message.get('route')).toBe('<sip:127.0.0.1:5080;lr>');
    expect(bye.message.requestUri).toBe('sip:caller@127.0.0.1:5070');
    expect(bye.destination).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5080 });
  });
});
