import { describe, expect, it } from 'vitest';
import { buildCancel } from '../../../../src/sip/transaction/build-cancel.ts';
import { SipTransportError } from '../../../../src/sip/transport/transport-error.ts';
import { destination, flush, harness, outgoing, responseTo, source, T1, T2, T4 } from './support.ts';

function start(transport: 'udp' | 'tcp' = 'udp', method = 'OPTIONS') {
  const h = harness();
  const tx = h.layer.sendRequest(outgoing(method), destination(transport));
  return { ...h, tx, t0: h.clock.now() };
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  it('retransmits on UDP with Timer E doubling from T1 up to T2, and times out with Timer F at 64*T1', () => {
    const { tx, transport, clock, user, layer, t0 } = start();
    expect(tx.kind).toBe('non-invite-client');
    expect(tx.state).toBe('trying');
    clock.advance(64 * T1 - 1);
    const times = transport.of('OPTIONS').map((s) => s.at - t0);
    // 0.5, 1, 2, then T2 = 4 s each time.
    expect(times).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBe(T2);
    expect(user.of('timeout')).toHaveLength(0);
    clock.advance(1);
    expect(user.of('timeout').map((e) => e.tx)).toEqual([tx]);
    expect(tx.state).toBe('terminated');
    expect(layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('does not retransmit on TCP; Timer F still bounds it', () => {
    const { transport, clock, user } = start('tcp', 'BYE');
    clock.advance(64 * T1 - 1);
    expect(transport.of('BYE')).toHaveLength(1);
    clock.advance(1);
    expect(user.of('timeout')).toHaveLength(1);
  });

  it('in Proceeding retransmits every T2 and still times out with Timer F', () => {
    const { tx, transport, clock, user, t0 } = start();
    clock.advance(600); // after the first retransmission (E now due at 1500)
    transport.deliver(responseTo(transport.sent[0]!.text, 100), source());
    expect(tx.state).toBe('proceeding');
    expect(user.of('response').map((e) => e.response.status)).toEqual([100]);
    clock.advance(12_000);
    const times = transport.of('OPTIONS').map((s) => s.at - t0);
    // §17.1.2.2: the pending Timer E fires, then is reset to T2 each time.
    expect(times).toEqual([0, 500, 1500, 5500, 9500]);
    clock.advance(64 * T1 - 12_600 - 1);
    expect(user.of('timeout')).toHaveLength(0);
    clock.advance(1);
    expect(user.of('timeout')).toHaveLength(1);
    expect(tx.state).toBe('terminated');
  });

  it('passes the final response, absorbs its retransmissions in Completed, ends with Timer K = T4 on UDP', () => {
    const { tx, transport, clock, user } = start('udp', 'BYE');
    transport.deliver(responseTo(transport.sent[0]!.text, 200), source());
    expect(tx.state).toBe('completed');
    clock.advance(T1 * 3);
    expect(transport.of('BYE')).toHaveLength(1); // no retransmission in Completed
    transport.deliver(responseTo(transport.sent[0]!.text, 200), source());
    transport.deliver(responseTo(transport.sent[0]!.text, 180), source());
    expect(user.of('response').map((e) => e.response.status)).toEqual([200]);
    clock.advance(T4 - T1 * 3 - 1);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('terminates at once on TCP after the final response (Timer K = 0)', () => {
    const { tx, transport, clock } = start('tcp', 'REGISTER');
    transport.deliver(responseTo(transport.sent[0]!.text, 401), source('tcp'));
    expect(tx.state).toBe('terminated');
    expect(clock.pending).toBe(0);
  });

  it('matches responses by branch and CSeq method: a CANCEL and its INVITE share a branch (§17.1.3)', () => {
    const h = harness();
    const invite = h.layer.sendRequest(outgoing('INVITE'), destination());
    h.transport.deliver(responseTo(h.transport.sent[0]!.text, 180), source());
    const cancel = h.layer.sendRequest(buildCancel(invite.request), destination());
    expect(cancel.request.topVia?.branch).toBe(invite.request.topVia?.branch);
    const cancelSent = h.transport.of('CANCEL')[0]!.text;
    h.transport.deliver(responseTo(cancelSent, 200), source());
    expect(cancel.state).toBe('completed');
    expect(invite.state).toBe('proceeding');
    h.transport.deliver(responseTo(h.transport.sent[0]!.text, 487), source());
    expect(invite.state).toBe('completed');
    expect(h.user.of('response').map((e) => `${e.tx.kind} ${e.response.status}`)).toEqual([
      'invite-client 180',
      'non-invite-client 200',
      'invite-client 487',
    ]);
  });

  it('uses a per-request ClientTransactionUser when given', () => {
    const h = harness();
    const seen: number[] = [];
    h.layer.sendRequest(outgoing('OPTIONS'), destination(), {
      onResponse: (r) => seen.push(r.status),
      onTimeout: () => seen.push(-1),
      onTransportError: () => seen.push(-2),
    });
    h.transport.deliver(responseTo(h.transport.sent[0]!.text, 200), source());
    expect(seen).toEqual([200]);
    expect(h.user.of('response')).toHaveLength(0);
  });

  it('reports a transport failure and terminates', async () => {
    const h = harness();
    h.transport.failWith = new SipTransportError('CR_SIP_TRANSPORT_NEEDS_DNS', 'host name');
    const tx = h.layer.sendRequest(outgoing('OPTIONS'), destination());
    await flush();
    expect(tx.state).toBe('terminated');
    expect(h.user.of('transportError')).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });
});
