import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { NonInviteServerTransaction } from '../../../../src/sip/transaction/non-invite-server-transaction.ts';
import { SipTransportError } from '../../../../src/sip/transport/transport-error.ts';
import { flush, harness, request, source, T1, type Harness } from './support.ts';

function receive(h: Harness, transport: 'udp' | 'tcp' = 'udp', method = 'BYE'): NonInviteServerTransaction {
  h.transport.deliver(request({ method, toTag: 'uas', transport: transport === 'udp' ? 'UDP' : 'TCP' }), source(transport));
  const tx = h.user.of('request').at(-1)?.tx;
  if (!(tx instanceof NonInviteServerTransaction)) throw new Error('no non-INVITE server transaction');
  return tx;
}

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  it('discards retransmissions in Trying, resends the provisional in Proceeding and the final in Completed', () => {
    const h = harness();
    const tx = receive(h);
    expect(tx.state).toBe('trying');
    h.transport.deliver(request({ method: 'BYE', toTag: 'uas' }), source());
    expect(h.transport.sent).toHaveLength(0);
    h.clock.advance(5_000);
    expect(h.transport.sent).toHaveLength(0); // no 100 Trying for non-INVITE (RFC 4320)
    tx.respond(createResponse(tx.request, 100));
    expect(tx.state).toBe('proceeding');
    h.transport.deliver(request({ method: 'BYE', toTag: 'uas' }), source());
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([100, 100]);
    tx.respond(createResponse(tx.request, 200));
    expect(tx.state).toBe('completed');
    h.transport.deliver(request({ method: 'BYE', toTag: 'uas' }), source());
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([100, 100, 200, 200]);
    expect(h.user.of('request')).toHaveLength(1);
    expect(tx.respond(createResponse(tx.request, 500))).toBe(false);
  });

  it('keeps the final response for Timer J = 64*T1 on UDP, without retransmitting it unprompted', () => {
    const h = harness();
    const tx = receive(h);
    tx.respond(createResponse(tx.request, 200));
    h.clock.advance(64 * T1 - 1);
    expect(tx.state).toBe('completed');
    expect(h.transport.sent).toHaveLength(1);
    h.clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(h.layer.size).toBe(0);
    expect(h.clock.pending).toBe(0);
    // A late retransmission is a new request to the TU now.
    h.transport.deliver(request({ method: 'BYE', toTag: 'uas' }), source());
    expect(h.user.of('request')).toHaveLength(2);
  });

  it('terminates at once on TCP (Timer J = 0)', () => {
    const h = harness();
    const tx = receive(h, 'tcp', 'OPTIONS');
    tx.respond(createResponse(tx.request, 200));
    expect(tx.state).toBe('terminated');
    expect(h.clock.pending).toBe(0);
  });

  it('tells the TU when the final response could not be sent, even after terminating on TCP', async () => {
    const h = harness();
    const tx = receive(h, 'tcp');
    h.transport.failWith = new SipTransportError('CR_SIP_TRANSPORT_CONNECT_FAILED', 'refused');
    tx.respond(createResponse(tx.request, 200));
    await flush();
    expect(h.user.of('transportError').map((e) => e.tx)).toEqual([tx]);
  });
});
