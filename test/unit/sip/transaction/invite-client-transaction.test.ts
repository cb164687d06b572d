import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import { InviteClientTransaction } from '../../../../src/sip/transaction/invite-client-transaction.ts';
import { SipTransportError } from '../../../../src/sip/transport/transport-error.ts';
import { destination, flush, harness, outgoing, responseTo, source, T1 } from './support.ts';

function start(transport: 'udp' | 'tcp' = 'udp', extra: readonly string[] = []) {
  const h = harness();
  const tx = h.layer.sendRequest(outgoing('INVITE', extra), destination(transport));
  if (!(tx instanceof InviteClientTransaction)) throw new Error('expected an INVITE client transaction');
  const t0 = h.clock.now();
  return { ...h, tx, t0 };
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  it('adds a top Via with a magic-cookie branch and rport, and keys the transaction by branch and method', () => {
    const { tx, transport } = start();
    const via = tx.request.topVia;
    expect(via?.hasRfc3261Branch).toBe(true);
    expect(via?.rport).toBe(true);
    expect(tx.id).toBe(`${via?.branch}|INVITE`);
    expect(transport.of('INVITE')).toHaveLength(1);
    expect(tx.state).toBe('calling');
  });

  it('retransmits on UDP with Timer A doubling from T1 and times out with Timer B at 64*T1', () => {
    const { tx, transport, clock, user, layer, t0 } = start();
    clock.advance(64 * T1 - 1);
    const times = transport.of('INVITE').map((s) => s.at - t0);
    // §17.1.1.2: intervals double after each transmission: 0.5, 1, 2, 4, 8, 16 s.
    expect(times).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(user.of('timeout')).toHaveLength(0);
    clock.advance(1);
    expect(user.of('timeout')).toHaveLength(1);
    expect(tx.state).toBe('terminated');
    expect(tx.timerCount).toBe(0);
    expect(layer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('does not retransmit on TCP but still times out with Timer B', () => {
    const { tx, transport, clock, user } = start('tcp');
    clock.advance(64 * T1 - 1);
    expect(transport.of('INVITE')).toHaveLength(1);
    clock.advance(1);
    expect(user.of('timeout').map((e) => e.tx)).toEqual([tx]);
  });

  it('stops retransmitting and cancels Timer B on a provisional response (Proceeding)', () => {
    const { tx, transport, clock, user } = start();
    clock.advance(600);
    transport.deliver(responseTo(transport.sent[0]!.text, 180), source());
    expect(tx.state).toBe('proceeding');
    expect(user.of('response').map((e) => e.response.status)).toEqual([180]);
    clock.advance(120_000);
    expect(transport.of('INVITE')).toHaveLength(2);
    expect(user.of('timeout')).toHaveLength(0);
    expect(tx.state).toBe('proceeding');
    expect(tx.timerCount).toBe(0);
    transport.deliver(responseTo(transport.sent[0]!.text, 183), source());
    expect(user.of('response').map((e) => e.response.status)).toEqual([180, 183]);
  });

  it('ACKs a non-2xx final itself with the INVITE branch and Route, absorbs retransmissions, Timer D 32 s on UDP', () => {
    const { tx, transport, clock, user } = start('udp', ['Route: <sip:10.0.0.9;lr>', 'Route: <sip:10.0.0.8;lr>']);
    const invite = transport.sent[0]!.text;
    transport.deliver(responseTo(invite, 100), source());
    const busy = responseTo(invite, 486, 'busy-tag');
    transport.deliver(busy, source());
    expect(tx.state).toBe('completed');
    expect(user.of('response').map((e) => e.response.status)).toEqual([100, 486]);
    const acks = transport.of('ACK');
    expect(acks).toHaveLength(1);
    const ack = parseMessage(Buffer.from(acks[0]!.text));
    if (!ack.ok) throw new Error('ACK does not parse');
    const a = ack.message;
    const inviteMsg = tx.request;
    expect(a.requestUri).toBe(inviteMsg.requestUri);
    expect(a.vias).toHaveLength(1);
    expect(a.topVia?.branch).toBe(inviteMsg.topVia?.branch);
    expect(a.cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(a.to?.tag).toBe('busy-tag');
    expect(a.from?.tag).toBe('ours1');
    expect(a.callId).toBe(inviteMsg.callId);
    expect(a.lines('route')).toEqual(['<sip:10.0.0.9;lr>', '<sip:10.0.0.8;lr>']);
    expect(acks[0]!.destination).toEqual(destination('udp'));

    // Retransmitted final: ACK again, the TU does not see it.
    clock.advance(1000);
    transport.deliver(responseTo(invite, 486, 'busy-tag'), source());
    expect(transport.of('ACK')).toHaveLength(2);
    expect(user.of('response')).toHaveLength(2);

    clock.advance(32_000 - 1000 - 1);
    expect(tx.state).toBe('completed');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(user.of('timeout')).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });

  it('terminates at once after the ACK on TCP (Timer D = 0), on the same connection', async () => {
    const { tx, transport, clock } = start('tcp');
    await flush();
    expect(tx.destination.connectionId).toBe(7);
    transport.deliver(responseTo(transport.sent[0]!.text, 603), source('tcp'));
    expect(tx.state).toBe('terminated');
    expect(transport.of('ACK')[0]!.destination?.connectionId).toBe(7);
    expect(clock.pending).toBe(0);
  });

  it('passes every 2xx to the TU in Accepted for 64*T1 (Timer M), sends no ACK itself', () => {
    const { tx, transport, clock, user, layer } = start();
    clock.advance(100);
    const ok = responseTo(transport.sent[0]!.text, 200);
    transport.deliver(ok, source());
    expect(tx.state).toBe('accepted');
    clock.advance(T1 * 4);
    transport.deliver(responseTo(transport.sent[0]!.text, 200), source());
    expect(user.of('response').map((e) => e.response.status)).toEqual([200, 200]);
    expect(transport.of('ACK')).toHaveLength(0);
    expect(transport.of('INVITE')).toHaveLength(1);
    transport.deliver(responseTo(transport.sent[0]!.text, 486), source());
    expect(user.of('response')).toHaveLength(2);
    clock.advance(64 * T1 - T1 * 4 - 1);
    expect(tx.state).toBe('accepted');
    clock.advance(1);
    expect(tx.state).toBe('terminated');
    expect(layer.size).toBe(0);
    // After Timer M a 2xx retransmission is a stray response for the core to ACK again.
    transport.deliver(responseTo(transport.sent[0]!.text, 200), source());
    expect(user.of('stray')).toHaveLength(1);
  });

  it('reports a transport failure and terminates (§17.1.4)', async () => {
    const h = harness();
    h.transport.failWith = new SipTransportError('CR_SIP_TRANSPORT_CONNECT_FAILED', 'refused');
    const tx = h.layer.sendRequest(outgoing('INVITE'), destination('tcp'));
    await flush();
    expect(tx.state).toBe('terminated');
    expect(h.user.of('transportError').map((e) => e.error.code)).toEqual(['CR_SIP_TRANSPORT_CONNECT_FAILED']);
    expect(h.clock.pending).toBe(0);
  });

  it('refuses misuse: ACK in a transaction, a live duplicate branch', () => {
    const h = harness();
    expect(() => h.layer.sendRequest(outgoing('ACK'), destination())).toThrow(/ACK/);
    const first = h.layer.sendRequest(outgoing('INVITE'), destination());
    const again = outgoing('INVITE');
    again.prepend('Via', first.request.get('via') ?? '');
    expect(() => h.layer.sendRequest(again, destination())).toThrow(/branch/);
  });
});
