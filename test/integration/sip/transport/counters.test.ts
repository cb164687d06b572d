/**
 * The counters behind the gateway's SIP metrics, over real sockets with the transaction layer on top (T1 = 40 ms):
 * retransmissions sent (a message sent again), retransmitted requests received, responses by status code,
 * requests by method (unknown ones under `other`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import type { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.ts';
import type { ServerTransaction, TransactionUser } from '../../../../src/sip/transaction/transaction-user.ts';
import { createSipTransport } from '../../../../src/sip/transport/sip-transport.ts';
import { requestText, sleep, UdpPeer, waitFor } from './support.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('SIP transport and transaction counters', () => {
  it('count retransmissions both ways, responses by code and requests by method', async () => {
    const t = await createSipTransport({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
    const answer = (tx: ServerTransaction, req: SipMessage): void => {
      tx.respond(createResponse(req, req.method === 'INVITE' ? 486 : req.method === 'OPTIONS' ? 200 : 501, undefined, { toTag: 'uas' }));
    };
    const tu: TransactionUser = {
      onRequest: answer,
      onAck: () => undefined,
      onCancel: () => undefined,
      onResponse: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    };
    const layer = new TransactionLayer({ transport: t, user: tu, timers: { t1: 40, t2: 160, t4: 200 } });
    cleanups.push(async () => {
      layer.close();
      await t.close();
    });
    const port = t.endpoints()[0]!.bound.port;
    const peer = await UdpPeer.open('udp4', '127.0.0.1');
    cleanups.push(() => peer.close());
    const via = (b: string): string => `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${b};rport`;

    // An INVITE answered 486 and never ACKed: the transaction retransmits the 486 (Timer G).
    const invite = requestText({ method: 'INVITE', via: via('c1'), callId: 'c1' });
    await peer.send(invite, port, '127.0.0.1');
    await waitFor(() => (peer.received.length >= 3 ? true : undefined), 3_000, '486 retransmissions');
    // The peer sends the INVITE again, twice: absorbed by the transaction, counted as retransmissions received.
    await peer.send(invite, port, '127.0.0.1');
    await peer.send(invite, port, '127.0.0.1');
    // OPTIONS (200) and a method we do not know (501, counted under `other`).
    await peer.send(requestText({ method: 'OPTIONS', via: via('c2'), callId: 'c2' }), port, '127.0.0.1');
    await peer.send(requestText({ method: 'FOO', via: via('c3'), callId: 'c3' }), port, '127.0.0.1');
    await sleep(150);

    const s = t.stats;
    const sent486 = peer.messages().filter((m) => m.status === 486).length;
    expect(s.responsesSent[486]).toBe(sent486);
    expect(s.responsesSent[200]).toBe(1);
    expect(s.responsesSent[501]).toBe(1);
    // Every 486 after the first is a retransmission (Timer G, or the answer to a retransmitted INVITE).
    expect(s.retransmitted).toBe(sent486 - 1);
    expect(layer.stats.retransmissionsReceived).toBe(2);
    expect(s.requestsReceived).toMatchObject({ INVITE: 3, OPTIONS: 1, other: 1, BYE: 0 });
  });
});
