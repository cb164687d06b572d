import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction.ts';
import { serverKey } from '../../../../src/sip/transaction/transaction-key.ts';
import { harness, request, source, T1 } from './support.ts';

describe('server transaction matching (RFC 3261 §17.2.3)', () => {
  it('keys by branch, sent-by and method; ACK looks up the INVITE', () => {
    const invite = request();
    expect(serverKey(invite)).toBe(serverKey(request({ method: 'ACK', toTag: 'x' })));
    expect(serverKey(invite)).not.toBe(serverKey(request({ sentBy: '127.0.0.1:5071' })));
    expect(serverKey(invite)).not.toBe(serverKey(request({ branch: 'z9hG4bKother' })));
    expect(serverKey(invite)).not.toBe(serverKey(request({ method: 'CANCEL' })));
    expect(serverKey(request({ sentBy: 'Host.Example:5060' }))).toBe(serverKey(request({ sentBy: 'host.example' })));
  });

  it('creates separate transactions for the same branch from different sent-by', () => {
    const h = harness();
    h.transport.deliver(request(), source());
    h.transport.deliver(request({ sentBy: '127.0.0.1:5071' }), source('udp', 5071));
    expect(h.user.of('request')).toHaveLength(2);
    expect(h.layer.size).toBe(2);
  });

  it('falls back to RFC 2543 matching when the branch lacks the magic cookie', () => {
    const h = harness();
    const old = { branch: '' } as const;
    h.transport.deliver(request(old), source());
    const tx = h.user.of('request')[0]!.tx as InviteServerTransaction;
    // Retransmission: same Request-URI, tags, Call-ID, CSeq, top Via.
    h.transport.deliver(request(old), source());
    expect(h.user.of('request')).toHaveLength(1);
    // A different CSeq is a new transaction.
    h.transport.deliver(request({ ...old, cseq: 2 }), source());
    expect(h.user.of('request')).toHaveLength(2);
    h.transport.deliver(request({ ...old, branch: '1234' }), source());
    expect(h.user.of('request')).toHaveLength(3);

    tx.respond(createResponse(tx.request, 486, undefined, { toTag: 'uas-tag' }));
    // An ACK whose To tag is not the response's does not match: it goes to the core.
    h.transport.deliver(request({ ...old, method: 'ACK', toTag: 'other' }), source());
    expect(tx.state).toBe('completed');
    expect(h.user.of('ack')).toHaveLength(1);
    // The ACK with the response's To tag matches (§17.2.3).
    h.transport.deliver(request({ ...old, method: 'ACK', toTag: 'uas-tag' }), source());
    expect(tx.state).toBe('confirmed');
    expect(h.user.of('ack')).toHaveLength(1);
  });

  it('never creates a transaction for an ACK', () => {
    const h = harness();
    h.transport.deliver(request({ method: 'ACK', toTag: 'x' }), source());
    expect(h.layer.size).toBe(0);
    expect(h.user.of('ack')).toHaveLength(1);
    expect(h.user.of('request')).toHaveLength(0);
  });
});

describe('CANCEL (RFC 3261 §9.2)', () => {
  it('answers 200 with the INVITE response To tag, lets the TU answer 487, and the ACK completes it', () => {
    const h = harness();
    h.user.onRequestHook = (tx, req) => {
      if (req.method === 'INVITE') tx.respond(createResponse(req, 180, undefined, { toTag: 'uas' }));
    };
    h.transport.deliver(request(), source());
    const invite = h.user.of('request')[0]!.tx as InviteServerTransaction;
    h.transport.deliver(request({ method: 'CANCEL' }), source());
    const ok = h.transport.of('SIP/2.0 200');
    expect(ok).toHaveLength(1);
    expect(ok[0]!.message.cseq).toEqual({ seq: 1, method: 'CANCEL' });
    expect(ok[0]!.message.to?.tag).toBe('uas');
    const cancels = h.user.of('cancel');
    expect(cancels.map((c) => c.tx)).toEqual([invite]);
    expect(h.user.of('request')).toHaveLength(1); // CANCEL is not a new request for the TU
    invite.respond(createResponse(invite.request, 487, undefined, { toTag: 'uas' }));
    expect(h.transport.of('SIP/2.0 487')).toHaveLength(1);
    h.transport.deliver(request({ method: 'ACK', toTag: 'uas' }), source());
    expect(invite.state).toBe('confirmed');
    // A retransmitted CANCEL is absorbed by its own transaction, which resends the 200.
    h.transport.deliver(request({ method: 'CANCEL' }), source());
    expect(h.transport.of('SIP/2.0 200')).toHaveLength(2);
    expect(h.user.of('cancel')).toHaveLength(1);
  });

  it('answers 481 when no INVITE transaction matches', () => {
    const h = harness();
    h.transport.deliver(request({ method: 'CANCEL', branch: 'z9hG4bKnothing' }), source());
    expect(h.transport.sent.map((s) => s.message.status)).toEqual([481]);
    expect(h.user.of('cancel')).toHaveLength(0);
    expect(h.layer.stats.unmatchedCancels).toBe(1);
  });

  it('answers 200 but does not bother the TU when the INVITE already has its final response', () => {
    const h = harness();
    h.transport.deliver(request(), source());
    const invite = h.user.of('request')[0]!.tx as InviteServerTransaction;
    invite.respond(createResponse(invite.request, 603, undefined, { toTag: 'uas' }));
    h.transport.deliver(request({ method: 'CANCEL' }), source());
    expect(h.transport.of('SIP/2.0 200')).toHaveLength(1);
    expect(h.user.of('cancel')).toHaveLength(0);
  });

  it('matches an RFC 2543 CANCEL by Request-URI, tags, Call-ID, CSeq number and top Via', () => {
    const h = harness();
    h.transport.deliver(request({ branch: '' }), source());
    h.transport.deliver(request({ method: 'CANCEL', branch: '' }), source());
    expect(h.user.of('cancel')).toHaveLength(1);
    h.transport.deliver(request({ method: 'CANCEL', branch: '', callId: 'other' }), source());
    expect(h.transport.sent.map((s) => s.message.status).sort()).toEqual([200, 481]);
  });
});

describe('limits and robustness', () => {
  it('answers 503 with Retry-After statelessly over maxTransactions, still absorbing retransmissions', () => {
    const h = harness({ maxTransactions: 16, retryAfterSeconds: 7 });
    for (let i = 0; i < 16; i++) h.transport.deliver(request({ method: 'OPTIONS', branch: `z9hG4bKb${i}` }), source());
    expect(h.layer.size).toBe(16);
    h.transport.deliver(request({ method: 'OPTIONS', branch: 'z9hG4bKover' }), source());
    h.transport.deliver(request({ branch: 'z9hG4bKover2' }), source());
    const rejected = h.transport.sent.filter((s) => s.message.status === 503);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]!.message.get('retry-after')).toBe('7');
    expect(rejected[0]!.message.to?.tag).toBeDefined();
    expect(h.layer.size).toBe(16);
    expect(h.user.of('request')).toHaveLength(16);
    expect(h.layer.stats.overCap).toBe(2);
    h.transport.deliver(request({ method: 'OPTIONS', branch: 'z9hG4bKb3' }), source());
    expect(h.transport.sent).toHaveLength(2);
    expect(h.clock.pending).toBe(0); // non-INVITE server transactions hold no timer until answered
  });

  it('does not count finished transactions lingering for retransmissions against the admission cap', () => {
    const h = harness({ maxTransactions: 8 });
    // 8 INVITEs answered 200 (Accepted, Timer L) and 8 OPTIONS answered 200 (Completed, Timer J): all linger.
    for (let i = 0; i < 8; i++) {
      h.transport.deliver(request({ branch: `z9hG4bKi${i}`, callId: `c${i}` }), source());
      h.transport.deliver(request({ method: 'OPTIONS', branch: `z9hG4bKo${i}`, callId: `o${i}` }), source());
      for (const e of h.user.of('request').slice(-2)) {
        const tx = e.tx as InviteServerTransaction;
        tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'uas' }));
      }
    }
    expect(h.layer.size).toBe(16);
    expect(h.layer.activeSize).toBe(0);
    // New work is still admitted while the finished ones linger.
    for (let i = 0; i < 8; i++) h.transport.deliver(request({ branch: `z9hG4bKn${i}`, callId: `n${i}` }), source());
    expect(h.transport.sent.filter((s) => s.message.status === 503)).toHaveLength(0);
    expect(h.layer.activeSize).toBe(8);
    // Now 8 are working: the next one is over the cap.
    h.transport.deliver(request({ branch: 'z9hG4bKover', callId: 'over' }), source());
    expect(h.transport.sent.filter((s) => s.message.status === 503)).toHaveLength(1);
    // Lingering transactions end with their timers and leave the table.
    h.clock.advance(64 * T1 + 1);
    expect(h.layer.size).toBe(8);
  });

  it('still bounds lingering transactions (4 x the cap)', () => {
    const h = harness({ maxTransactions: 4 });
    for (let i = 0; i < 16; i++) {
      h.transport.deliver(request({ method: 'OPTIONS', branch: `z9hG4bKl${i}`, callId: `l${i}` }), source());
      const last = h.user.of('request').at(-1)!;
      const tx = last.tx as InviteServerTransaction;
      tx.respond(createResponse(tx.request, 200, undefined, { toTag: 'uas' }));
    }
    expect(h.layer.size).toBe(16);
    h.transport.deliver(request({ method: 'OPTIONS', branch: 'z9hG4bKx', callId: 'x' }), source());
    expect(h.transport.sent.filter((s) => s.message.status === 503)).toHaveLength(1);
  });

  it('answers a request missing a mandatory header 400 statelessly, without a transaction', () => {
    const h = harness();
    const noFrom = request({ method: 'OPTIONS' });
    noFrom.delete('from');
    h.transport.deliver(noFrom, source());
    const twoTo = request({ method: 'INVITE', branch: 'z9hG4bKtwo' });
    twoTo.append('To', '<sip:other@127.0.0.1>');
    h.transport.deliver(twoTo, source());
    expect(h.transport.sent.map((s) => `${s.message.status} ${s.message.reason}`)).toEqual([
      '400 Bad Request - Missing From header',
      '400 Bad Request - Multiple To headers',
    ]);
    expect(h.layer.size).toBe(0);
    expect(h.user.of('request')).toHaveLength(0);
    expect(h.layer.stats.badRequests).toBe(2);
    expect(h.clock.pending).toBe(0);
  });

  it('lets the TU screen new requests before any state: drop, or a stateless final status', () => {
    const h = harness();
    const seen: string[] = [];
    h.user.admit = (req) => {
      seen.push(req.method);
      if (req.callId === 'flood') return 'drop';
      if (req.callId === 'unknown') return { status: 403 };
      return 'accept';
    };
    h.transport.deliver(request({ callId: 'flood', branch: 'z9hG4bKf1' }), source());
    h.transport.deliver(request({ callId: 'unknown', branch: 'z9hG4bKf2' }), source());
    h.transport.deliver(request({ callId: 'trunk', branch: 'z9hG4bKf3' }), source());
    h.transport.deliver(request({ method: 'ACK', callId: 'flood', branch: 'z9hG4bKf4', toTag: 'x' }), source());
    expect(seen).toEqual(['INVITE', 'INVITE', 'INVITE']);
    expect(h.transport.sent.map((s) => `${s.message.status} ${s.message.callId}`)).toEqual(['403 unknown']);
    expect(h.layer.size).toBe(1);
    expect(h.user.of('request').map((e) => e.request.callId)).toEqual(['trunk']);
    expect(h.layer.stats.screened).toBe(2);
    h.user.admit = () => {
      throw new Error('bug');
    };
    h.transport.deliver(request({ callId: 'x', branch: 'z9hG4bKf5' }), source());
    expect(h.transport.sent.at(-1)?.message.status).toBe(500);
  });

  it('survives a TransactionUser that throws', () => {
    const h = harness();
    h.user.onRequestHook = () => {
      throw new Error('bug in the TU');
    };
    h.transport.deliver(request({ method: 'OPTIONS' }), source());
    expect(h.layer.stats.userErrors).toBe(1);
    const tx = h.user.of('request')[0]!.tx;
    expect(tx.respond(createResponse(tx.request, 200))).toBe(true);
  });

  it('close() stops every transaction and timer without calling the TU', () => {
    const h = harness();
    h.transport.deliver(request(), source());
    h.transport.deliver(request({ method: 'OPTIONS', branch: 'z9hG4bKo' }), source());
    const invite = h.user.of('request')[0]!.tx as InviteServerTransaction;
    h.layer.sendInvite2xx(invite, createResponse(invite.request, 200, undefined, { toTag: 'uas' }), () => undefined);
    h.layer.sendRequest(request({ method: 'BYE', branch: 'z9hG4bKbye', toTag: 'uas' }), { transport: 'udp', address: '127.0.0.1', port: 5070 });
    expect(h.clock.pending).toBeGreaterThan(0);
    const before = h.user.events.length;
    h.layer.close();
    expect(h.clock.pending).toBe(0);
    expect(h.layer.size).toBe(0);
    expect(h.user.events.length).toBe(before);
    h.clock.advance(64 * T1 * 2);
    h.transport.deliver(request({ method: 'OPTIONS', branch: 'z9hG4bKlate' }), source());
    expect(h.user.events.length).toBe(before);
  });
});
