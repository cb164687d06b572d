import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction.ts';
import { SipTransportError } from '../../../../src/sip/transport/transport-error.ts';
import { flush, harness, request, source, T1, T2, T4, type Harness } from './support.ts';

function receiveInvite(h: Harness, transport: 'udp' | 'tcp' = 'udp'): InviteServerTransaction {
  h.transport.deliver(request({ transport: transport === 'udp' ? 'UDP' : 'TCP' }), source(transport));
  const tx = h.user.of('request').at(-1)?.tx;
  if (!(tx instanceof InviteServerTransaction)) throw new Error('no INVITE server transaction');
  return tx;
}

function ackFor(tx: InviteServerTransaction, branch = 'z9hG4bKpeer1') {
  return request({ method: 'ACK', branch, toTag: tx.lastResponse?.to?.tag ?? 'x' });
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  it('sends 100 Trying when the TU has not answered within 200 ms', () => {
    const h = harness();
    const tx = receiveInvite(h);
    expect(tx.state).toBe('proceeding');
    h.clock.advance(199);
    expect(h.transport.sent).toHaveLength(0);
    h.clock.advance(1);
    const trying = h.transport.of('SIP/2.0 100');
    expect(trying).toHaveLength(1);
    expect(trying[0]!.message.to?.tag).toBeUndefined();
    h.clock.advance(10_000);
    expect(h.transport.sent).toHaveLength(1);
  });

  it('sends no 100 Trying when the TU answers within 200 ms', () => {
    const h = harness();
    const tx = receiveInvite(h);
    h.clock.advance(150);
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'uas' }));
    h.clock.advance(1_000);
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([180]);
  });

  it('absorbs INVITE retransmissions in Proceeding by resending the last provisional (or 100 when none)', () => {
    const h = harness();
    const tx = receiveInvite(h);
    h.transport.deliver(request(), source());
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([100]);
    tx.respond(createResponse(tx.request, 180, undefined, { toTag: 'uas' }));
    h.transport.deliver(request(), source());
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([100, 180, 180]);
    expect(h.user.of('request')).toHaveLength(1);
    expect(h.layer.size).toBe(1);
  });

  it('retransmits a non-2xx final with Timer G (T1 doubling to T2) until Timer H (64*T1) reports the missing ACK', () => {
    const h = harness();
    const tx = receiveInvite(h);
    const t0 = h.clock.now();
    expect(tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas' }))).toBe(true);
    expect(tx.state).toBe('completed');
    expect(tx.respond(createResponse(tx.request, 500, undefined, { toTag: 'uas' }))).toBe(false);
    h.clock.advance(64 * T1 - 1);
    const times = h.transport.of('SIP/2.0 486').map((s) => s.at - t0);
    expect(times).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(Math.max(...times.slice(1).map((t, i) => t - times[i]!))).toBe(T2);
    expect(h.user.of('timeout')).toHaveLength(0);
    h.clock.advance(1);
    expect(h.user.of('timeout').map((e) => e.tx)).toEqual([tx]);
    expect(tx.state).toBe('terminated');
    expect(h.layer.size).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('resends the final response on a retransmitted INVITE in Completed', () => {
    const h = harness();
    const tx = receiveInvite(h);
    tx.respond(createResponse(tx.request, 404, undefined, { toTag: 'uas' }));
    h.transport.deliver(request(), source());
    expect(h.transport.of('SIP/2.0 404')).toHaveLength(2);
    expect(h.user.of('request')).toHaveLength(1);
  });

  it('moves to Confirmed on the ACK, stops Timer G, absorbs ACKs and INVITEs, ends with Timer I = T4 on UDP', () => {
    const h = harness();
    const tx = receiveInvite(h);
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas' }));
    h.clock.advance(600);
    h.transport.deliver(ackFor(tx), source());
    expect(tx.state).toBe('confirmed');
    const sentBefore = h.transport.sent.length;
    h.clock.advance(T4 - 1);
    h.transport.deliver(ackFor(tx), source());
    h.transport.deliver(request(), source());
    expect(h.transport.sent.length).toBe(sentBefore);
    expect(h.user.of('ack')).toHaveLength(0);
    expect(tx.state).toBe('confirmed');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(h.clock.pending).toBe(0);
  });

  it('on TCP sends no retransmissions and terminates on the ACK (Timer I = 0)', () => {
    const h = harness();
    const tx = receiveInvite(h, 'tcp');
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas' }));
    h.clock.advance(10_000);
    expect(h.transport.of('SIP/2.0 486')).toHaveLength(1);
    h.transport.deliver(request({ method: 'ACK', transport: 'TCP', toTag: 'uas' }), source('tcp'));
    expect(tx.state).toBe('terminated');
    expect(h.clock.pending).toBe(0);
  });

  it('on a 2xx enters Accepted for Timer L (64*T1): absorbs INVITEs, sends TU 2xx retransmissions, passes ACKs up', () => {
    const h = harness();
    const tx = receiveInvite(h);
    const ok = createResponse(tx.request, 200, undefined, { toTag: 'uas' });
    tx.respond(ok);
    expect(tx.state).toBe('accepted');
    h.transport.deliver(request(), source());
    expect(h.transport.sent).toHaveLength(1); // absorbed, not resent by the transaction
    expect(tx.respond(ok)).toBe(true);
    expect(tx.respond(createResponse(tx.request, 180))).toBe(false);
    expect(h.transport.of('SIP/2.0 200')).toHaveLength(2);
    // An ACK that reuses the INVITE branch matches the transaction and goes to the TU.
    h.transport.deliver(ackFor(tx), source());
    expect(h.user.of('ack').map((e) => e.tx)).toEqual([tx]);
    h.clock.advance(64 * T1 - 1);
    expect(tx.state).toBe('accepted');
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(h.user.of('timeout')).toHaveLength(0);
    expect(h.clock.pending).toBe(0);
  });

  it('retransmits a 2xx until the ACK (§13.3.1.4: T1 doubling to T2) and stops on the ACK', () => {
    const h = harness();
    const tx = receiveInvite(h);
    const t0 = h.clock.now();
    let noAck = 0;
    expect(h.layer.sendInvite2xx(tx, createResponse(tx.request, 200, undefined, { toTag: 'uas' }), () => noAck++)).toBe(true);
    h.clock.advance(8_000);
    expect(h.transport.of('SIP/2.0 200').map((s) => s.at - t0)).toEqual([0, 500, 1500, 3500, 7500]);
    // The ACK for a 2xx has its own branch (§13.2.2.4): no transaction, straight to the TU.
    h.transport.deliver(ackFor(tx, 'z9hG4bKack2xx'), source());
    expect(h.user.of('ack').map((e) => e.tx)).toEqual([undefined]);
    expect(h.layer.pendingAnswers).toBe(0);
    h.clock.advance(60_000);
    expect(h.transport.of('SIP/2.0 200')).toHaveLength(5);
    expect(noAck).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('gives up on a 2xx without ACK after 64*T1 so the dialog can send BYE', () => {
    const h = harness();
    const tx = receiveInvite(h);
    let noAckAt = -1;
    const t0 = h.clock.now();
    h.layer.sendInvite2xx(tx, createResponse(tx.request, 200, undefined, { toTag: 'uas' }), () => {
      noAckAt = h.clock.now() - t0;
    });
    h.clock.advance(64 * T1);
    expect(noAckAt).toBe(64 * T1);
    const times = h.transport.of('SIP/2.0 200').map((s) => s.at - t0);
    expect(times).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    expect(h.layer.pendingAnswers).toBe(0);
    expect(h.clock.pending).toBe(0);
  });

  it('on TCP waits for the 2xx ACK without retransmitting', () => {
    const h = harness();
    const tx = receiveInvite(h, 'tcp');
    let noAck = 0;
    h.layer.sendInvite2xx(tx, createResponse(tx.request, 200, undefined, { toTag: 'uas' }), () => noAck++);
    h.clock.advance(64 * T1);
    expect(h.transport.of('SIP/2.0 200')).toHaveLength(1);
    expect(noAck).toBe(1);
  });

  it('reports a failed response send to the TU and terminates (§17.2.4)', async () => {
    const h = harness();
    const tx = receiveInvite(h);
    h.transport.failWith = new SipTransportError('CR_SIP_TRANSPORT_SEND_FAILED', 'gone');
    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas' }));
    await flush();
    expect(tx.state).toBe('terminated');
    expect(h.user.of('transportError')).toHaveLength(1);
    expect(h.clock.pending).toBe(0);
  });
});
