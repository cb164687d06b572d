import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingRefer } from '../../../../src/sip/user-agent/call-types.ts';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { establish } from './support/established.ts';
import { header } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

const frag = (status: string) => `SIP/2.0 ${status}\r\n`;

describe('transfer (REFER we send, RFC 3515)', () => {
  it('follows the NOTIFYs to success, then hangs up with BYE', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    const result = call.transfer('sip:bob@127.0.0.1:5090');
    await flush();
    const refer = h.transport.last('REFER');
    expect(header(refer, 'refer-to')).toBe('<sip:bob@127.0.0.1:5090>');
    expect(header(refer, 'referred-by')).toBe('<sip:agent@127.0.0.1>');
    expect(refer.message.get('contact')).toBe('<sip:127.0.0.1:5060>');
    h.transport.deliver(peer.respond(refer, 202, { toTag: null }));
    const notify = (status: string, state: string) =>
      peer.request('NOTIFY', tag, { body: frag(status), contentType: 'message/sipfrag;version=2.0', extra: ['Event: refer', `Subscription-State: ${state}`] });
    h.transport.deliver(notify('100 Trying', 'active;expires=60'));
    await flush();
    expect(call.state).toBe('active');
    h.transport.deliver(notify('200 OK', 'terminated;reason=noresource'));
    await flush();
    expect(h.transport.of('SIP/2.0 200').filter((w) => w.message.cseq?.method === 'NOTIFY')).toHaveLength(2);
    const bye = h.transport.last('BYE');
    h.transport.deliver(peer.respond(bye, 200, { toTag: null }));
    expect(await result).toEqual({ ok: true, status: 200 });
    expect(await call.ended).toEqual({ reason: 'local-bye', transferredTo: 'sip:bob@127.0.0.1:5090' });
  });

  it('reports a failed transfer and keeps the call', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    const result = call.transfer('sip:bob@127.0.0.1:5090');
    await flush();
    h.transport.deliver(peer.respond(h.transport.last('REFER'), 202, { toTag: null }));
    h.transport.deliver(peer.request('NOTIFY', tag, { body: frag('486 Busy Here'), contentType: 'message/sipfrag', extra: ['Event: refer;id=2', 'Subscription-State: terminated'] }));
    expect(await result).toEqual({ ok: false, status: 486 });
    expect(call.state).toBe('active');
    expect(h.transport.of('BYE')).toHaveLength(0);
  });

  it('reports the REFER refusal, and 408 when no final NOTIFY comes in time', async () => {
    h = await harness({}, { transferTimeoutMs: 10_000 });
    const { peer, call } = await establish(h);
    const refused = call.transfer('sip:bob@127.0.0.1:5090');
    await flush();
    h.transport.deliver(peer.respond(h.transport.last('REFER'), 403, { toTag: null }));
    expect(await refused).toEqual({ ok: false, status: 403 });
    const silent = call.transfer('sip:bob@127.0.0.1:5090');
    await flush();
    h.transport.deliver(peer.respond(h.transport.last('REFER'), 202, { toTag: null }));
    await advance(h.clock, 10_000, 500);
    expect(await silent).toEqual({ ok: false, status: 408 });
    await expect(call.transfer('not a uri')).rejects.toMatchObject({ code: 'CR_SIP_BAD_TARGET' });
  });

  it('answers a NOTIFY without a transfer in progress 481', async () => {
    h = await harness();
    const { peer, tag } = await establish(h);
    h.transport.deliver(peer.request('NOTIFY', tag, { body: frag('200 OK'), contentType: 'message/sipfrag', extra: ['Event: refer', 'Subscription-State: terminated'] }));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(481);
  });
});

describe('REFER from the peer', () => {
  it('is refused 405 unless acceptRefer is on', async () => {
    h = await harness();
    const { peer, tag } = await establish(h);
    h.transport.deliver(peer.request('REFER', tag, { extra: ['Refer-To: <sip:carol@127.0.0.1>'] }));
    await flush();
    const res = h.transport.last('SIP/2.0');
    expect(res.message.status).toBe(405);
    expect(header(res, 'allow')).not.toContain('REFER');
  });

  it('is accepted 202, reported with NOTIFY 100 then the final status, one NOTIFY at a time', async () => {
    h = await harness({ acceptRefer: true });
    const { peer, call, tag } = await establish(h);
    const refers: IncomingRefer[] = [];
    call.onRefer((r) => refers.push(r));
    h.transport.deliver(peer.request('REFER', tag, { extra: ['Refer-To: <sip:carol@127.0.0.1:5099>', 'Referred-By: <sip:caller@127.0.0.1>'] }));
    await flush();
    expect(h.transport.last('SIP/2.0 202').message.cseq?.method).toBe('REFER');
    expect(refers.map((r) => [r.target, r.referredBy])).toEqual([['sip:carol@127.0.0.1:5099', 'sip:caller@127.0.0.1']]);
    const trying = h.transport.last('NOTIFY');
    expect(header(trying, 'event')).toBe('refer');
    expect(header(trying, 'subscription-state')).toBe('active;expires=60');
    expect(trying.message.contentType?.toString()).toBe('message/sipfrag;version=2.0');
    expect(Buffer.from(trying.message.body).toString()).toBe('SIP/2.0 100 Trying\r\n');
    const reported = refers[0]!.notify(200);
    await flush();
    // The final NOTIFY waits for the first one's transaction to finish.
    expect(h.transport.of('NOTIFY')).toHaveLength(1);
    h.transport.deliver(peer.respond(trying, 200, { toTag: null }));
    await flush();
    const final = h.transport.last('NOTIFY');
    expect(header(final, 'subscription-state')).toBe('terminated;reason=noresource');
    expect(Buffer.from(final.message.body).toString()).toBe('SIP/2.0 200 OK\r\n');
    h.transport.deliver(peer.respond(final, 200, { toTag: null }));
    await reported;
    // Reports after the final one are ignored.
    await refers[0]!.notify(180);
    expect(h.transport.of('NOTIFY')).toHaveLength(2);
  });

  it('is refused 403 when nobody listens, 400 without Refer-To, and reported 408 when never reported', async () => {
    h = await harness({ acceptRefer: true }, { referReportTimeoutMs: 30_000 });
    const { peer, call, tag } = await establish(h);
    h.transport.deliver(peer.request('REFER', tag, { extra: ['Refer-To: <sip:carol@127.0.0.1>'] }));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(403);
    call.onRefer(() => undefined);
    h.transport.deliver(peer.request('REFER', tag));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(400);
    h.transport.deliver(peer.request('REFER', tag, { extra: ['Refer-To: <sip:carol@127.0.0.1>'] }));
    await flush();
    h.transport.deliver(peer.respond(h.transport.last('NOTIFY'), 200, { toTag: null }));
    await advance(h.clock, 30_000, 1_000);
    expect(Buffer.from(h.transport.last('NOTIFY').message.body).toString()).toBe('SIP/2.0 408 Request Timeout\r\n');
  });
});
