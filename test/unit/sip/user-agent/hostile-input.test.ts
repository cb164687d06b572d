import { afterEach, describe, expect, it } from 'vitest';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { Peer, sdp, STRANGER } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

describe('hostile input from peers', () => {
  it('answers an INVITE whose SDP holds a stray CR with 488 and keeps no transaction', async () => {
    h = await harness();
    const broken = sdp().replace('s=-', 's=-\r\nbad\rline');
    h.transport.deliver(new Peer().invite({ sdp: broken }));
    await advance(h.clock, 1_000);
    expect(h.transport.lines().some((l) => l.startsWith('SIP/2.0 488'))).toBe(true);
    expect(h.transport.lines().every((l) => !/\r/.test(l))).toBe(true);
    await advance(h.clock, 40_000);
    expect(h.ua.transactionCount).toBe(0);
    expect(h.media.endpoints.every((e) => e.closed)).toBe(true);
  });

  it('keeps no transaction for tagged requests of no dialog from outside every trunk', async () => {
    h = await harness();
    const stranger = new Peer({ address: STRANGER.address });
    for (let i = 0; i < 50; i++) {
      h.transport.deliver(stranger.request('BYE', `forged-${i}`, { branch: `z9hG4bKf${i}` }), STRANGER);
      h.transport.deliver(new Peer({ address: STRANGER.address, callId: `t${i}` }).invite({ sdp: sdp(), extra: [] }).replace(/^(To: [^\r\n]*)/m, '$1;tag=x'), STRANGER);
    }
    await flush();
    expect(h.transport.wire).toHaveLength(0);
    expect(h.ua.transactionCount).toBe(0);
    // A known peer with a stray in-dialog request still gets its 481.
    h.transport.deliver(new Peer().request('BYE', 'nodialog'));
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 481 Call/Transaction Does Not Exist']);
  });

  it('sends refusals back to the source, never to a Via maddr or sent-by a forger chose', async () => {
    h = await harness();
    const invite = new Peer({ address: STRANGER.address })
      .invite({ sdp: sdp() })
      .replace(/^(Via: [^\r\n]*)/m, '$1;maddr=198.51.100.7');
    h.transport.deliver(invite, STRANGER);
    await flush();
    expect(h.transport.lines()).toEqual(['SIP/2.0 403 Forbidden']);
    const sent = h.transport.wire[0]!;
    expect(sent.destination?.address).toBe(STRANGER.address);
    expect(sent.destination?.port).toBe(STRANGER.port);
  });

  it('sends BYE back to where the call came from when the peer Contact is a host name', async () => {
    h = await harness();
    const peer = new Peer({ address: '127.0.0.1', port: 5072 });
    const invite = peer.invite({ sdp: sdp() }).replace(/^Contact: <sip:caller@[^>]*>/m, 'Contact: <sip:caller@pbx.example.com>');
    h.transport.deliver(invite, { address: '127.0.0.1', port: 5072 });
    await flush();
    const call = h.calls[0]!;
    const answered = call.answer();
    await flush();
    h.transport.deliver(peer.ackFor(h.transport.last('SIP/2.0 200')), { address: '127.0.0.1', port: 5072 });
    await answered;
    const hangup = call.hangup();
    await flush();
    const bye = h.transport.wire.find((w) => w.message.method === 'BYE');
    expect(bye?.destination).toMatchObject({ address: '127.0.0.1', port: 5072 });
    expect(bye?.message.requestUri).toBe('sip:caller@pbx.example.com');
    h.transport.deliver(peer.respond(bye!, 200), { address: '127.0.0.1', port: 5072 });
    await hangup;
  });
});
