import { afterEach, describe, expect, it } from 'vitest';
import { closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { establish } from './support/established.ts';
import { Peer, header, sdp } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

/** An out-of-dialog request from the peer, with headers replaced/added. */
function outOfDialog(method: string, extra: readonly string[] = [], uri = 'sip:agent@127.0.0.1:5060', body = '', type = 'application/sdp'): string {
  const p = new Peer();
  const text = p.request(method, 'x', { extra, body, contentType: type }).replace(/;tag=x/, '');
  return text.replace(/^\S+ \S+/, `${method} ${uri}`);
}

describe('requests outside a dialog', () => {
  it('answers OPTIONS 200 with Allow, Accept and Supported', async () => {
    h = await harness();
    h.transport.deliver(outOfDialog('OPTIONS', [], 'sip:127.0.0.1:5060'));
    await flush();
    const ok = h.transport.last('SIP/2.0 200');
    expect(header(ok, 'allow')).toBe('INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY');
    expect(header(ok, 'accept')).toContain('application/sdp');
    expect(ok.message.has('supported')).toBe(true);
    expect(ok.message.to?.tag).toBeDefined();
    expect(h.ua.transactionCount).toBe(1);
    // Allow lists REFER when acceptRefer is on.
    await h.ua.close();
    h = await harness({ acceptRefer: true });
    h.transport.deliver(outOfDialog('OPTIONS'));
    await flush();
    expect(header(h.transport.last('SIP/2.0 200'), 'allow')).toContain('REFER');
  });

  it('answers OPTIONS with Max-Forwards 0 like any other (RFC 4475 §3.3.11: an endpoint processes it)', async () => {
    h = await harness();
    h.transport.deliver(outOfDialog('OPTIONS').replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 200 OK']);
  });

  it.each([
    ['REGISTER', 405],
    ['SUBSCRIBE', 405],
    ['MESSAGE', 405],
    ['FOO', 501],
    ['BYE', 481],
    ['INFO', 481],
    ['UPDATE', 481],
    ['NOTIFY', 481],
  ])('answers %s with %i', async (method, status) => {
    h = await harness();
    h.transport.deliver(outOfDialog(method));
    await flush();
    const res = h.transport.last('SIP/2.0');
    expect(res.message.status).toBe(status);
    if (status === 405) expect(header(res, 'allow')).toBe('INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY');
  });

  it('answers 420 listing the unsupported Require options, 416 for a non-SIP Request-URI', async () => {
    h = await harness();
    h.transport.deliver(outOfDialog('OPTIONS', ['Require: 100rel, foo']));
    h.transport.deliver(outOfDialog('OPTIONS', [], 'tel:+15551234567'));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 420 Bad Extension', 'SIP/2.0 416 Unsupported URI Scheme']);
    expect(header(h.transport.last('SIP/2.0 420'), 'unsupported')).toBe('100rel, foo');
  });

  it('answers 415 for an INVITE body it cannot read and 406 when Accept excludes SDP, allocating nothing', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: '<audio/>' }).replace('Content-Type: application/sdp', 'Content-Type: application/unknownformat'));
    h.transport.deliver(new Peer().invite({ sdp: sdp(), extra: ['Accept: text/nobodyKnowsThis'] }));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 415 Unsupported Media Type', 'SIP/2.0 406 Not Acceptable']);
    expect(header(h.transport.last('SIP/2.0 415'), 'accept')).toContain('application/sdp');
    expect(h.media.endpoints).toHaveLength(0);
  });

  it('answers 400 to an INVITE without Contact and 482 to the same INVITE arriving by another path', async () => {
    h = await harness();
    const peer = new Peer();
    h.transport.deliver(peer.invite({ sdp: sdp() }).replace(/Contact: [^\r]*\r\n/, ''));
    await flush();
    expect(h.transport.last('SIP/2.0 400').message.reason).toBe('Bad Request - Missing Contact');
    const looped = new Peer();
    h.transport.deliver(looped.invite({ sdp: sdp(), seq: 7 }));
    h.transport.deliver(looped.invite({ sdp: sdp(), seq: 7 }));
    await flush();
    expect(h.transport.of('SIP/2.0 482')).toHaveLength(1);
    expect(h.calls).toHaveLength(1);
  });
});

describe('requests inside a dialog', () => {
  it('answers 481 for an unknown dialog and 500 for a CSeq lower than the last one', async () => {
    h = await harness();
    const { peer, tag } = await establish(h);
    h.transport.deliver(peer.request('BYE', 'no-such-tag'));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(481);
    h.transport.deliver(peer.request('INFO', tag, { seq: 5 }));
    h.transport.deliver(peer.request('INFO', tag, { seq: 3 }));
    await flush();
    expect(h.transport.lines().slice(-2)).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 500 Server Internal Error - CSeq out of order']);
  });

  it('answers in-dialog OPTIONS 200 and PRACK 481', async () => {
    h = await harness();
    const { peer, tag } = await establish(h);
    h.transport.deliver(peer.request('OPTIONS', tag));
    await flush();
    expect(header(h.transport.last('SIP/2.0 200'), 'allow')).toContain('INVITE');
    h.transport.deliver(peer.request('REGISTER', tag));
    await flush();
    expect(h.transport.last('SIP/2.0').message.status).toBe(405);
  });

  it('turns INFO application/dtmf-relay and application/dtmf into onDtmf events', async () => {
    h = await harness();
    const { peer, call, tag } = await establish(h);
    const digits: string[] = [];
    call.onDtmf((e) => digits.push(`${e.digit}/${e.durationMs ?? '-'}`));
    h.transport.deliver(peer.request('INFO', tag, { body: 'Signal=5\r\nDuration=160\r\n', contentType: 'application/dtmf-relay' }));
    h.transport.deliver(peer.request('INFO', tag, { body: '#', contentType: 'application/dtmf' }));
    h.transport.deliver(peer.request('INFO', tag, { body: 'Signal=11\r\n', contentType: 'application/dtmf-relay' }));
    h.transport.deliver(peer.request('INFO', tag));
    h.transport.deliver(peer.request('INFO', tag, { body: '{}', contentType: 'application/json' }));
    await flush();
    expect(digits).toEqual(['5/160', '#/-', '#/-']);
    expect(h.transport.of('SIP/2.0 200').slice(-4).length).toBe(4);
    expect(h.transport.last('SIP/2.0').message.status).toBe(415);
  });

  it('sends INFO DTMF one key at a time', async () => {
    h = await harness();
    const { peer, call } = await establish(h);
    const sending = call.sendInfoDtmf('1#');
    await flush();
    const first = h.transport.last('INFO');
    expect(Buffer.from(first.message.body).toString()).toBe('Signal=1\r\nDuration=160\r\n');
    expect(first.message.contentType?.mime).toBe('application/dtmf-relay');
    expect(h.transport.of('INFO')).toHaveLength(1);
    h.transport.deliver(peer.respond(first, 200));
    await flush();
    const second = h.transport.last('INFO');
    expect(Buffer.from(second.message.body).toString()).toBe('Signal=#\r\nDuration=160\r\n');
    expect(second.message.cseq!.seq).toBe(first.message.cseq!.seq + 1);
    h.transport.deliver(peer.respond(second, 200));
    await sending;
    await expect(call.sendInfoDtmf('x')).rejects.toMatchObject({ code: 'CR_SIP_BAD_TARGET' });
  });

  it('hangup sends BYE to the remote target and the call ends local-bye', async () => {
    h = await harness();
    const { peer, call } = await establish(h);
    const done = call.hangup();
    await flush();
    const bye = h.transport.last('BYE');
    expect(bye.message.requestUri).toBe('sip:caller@127.0.0.1:5070');
    expect(bye.message.from?.tag).toBeDefined();
    expect(bye.message.to?.tag).toBe(peer.fromTag);
    h.transport.deliver(peer.respond(bye, 200));
    await done;
    expect(await call.ended).toEqual({ reason: 'local-bye' });
    expect(h.ua.dialogCount).toBe(0);
  });
});
