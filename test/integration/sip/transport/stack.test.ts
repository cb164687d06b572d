import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import { InviteServerTransaction } from '../../../../src/sip/transaction/invite-server-transaction.ts';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.ts';
import type { ClientTransaction, ServerTransaction, TransactionUser } from '../../../../src/sip/transaction/transaction-user.ts';
import { createSipTransport } from '../../../../src/sip/transport/sip-transport.ts';
import { FAMILIES, requestText, sleep, TcpPeer, UdpPeer, waitFor } from './support.ts';

/** The transport and transaction layer together over real sockets, with short timers (T1 = 40 ms). */
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

class Tu implements TransactionUser {
  readonly requests: ServerTransaction[] = [];
  readonly responses: number[] = [];
  readonly cancels: InviteServerTransaction[] = [];
  readonly acks: SipMessage[] = [];
  timeouts = 0;
  answer: ((tx: ServerTransaction, request: SipMessage) => void) | undefined;
  onRequest(tx: ServerTransaction, request: SipMessage): void {
    this.requests.push(tx);
    this.answer?.(tx, request);
  }
  onAck(ack: SipMessage): void {
    this.acks.push(ack);
  }
  onCancel(_cancel: SipMessage, tx: InviteServerTransaction): void {
    this.cancels.push(tx);
    tx.respond(createResponse(tx.request, 487, undefined, { toTag: 'uas' }));
  }
  onResponse(response: SipMessage, _tx: ClientTransaction): void {
    this.responses.push(response.status);
  }
  onTimeout(): void {
    this.timeouts++;
  }
  onTransportError(): void {}
}

async function stack(host: string, transport: 'udp' | 'tcp', maxTransactions?: number) {
  const t = await createSipTransport({ listen: [{ transport, host, port: 0 }] });
  const tu = new Tu();
  const layer = new TransactionLayer({ transport: t, user: tu, timers: { t1: 40, t2: 160, t4: 200 }, ...(maxTransactions === undefined ? {} : { maxTransactions }) });
  cleanups.push(async () => {
    layer.close();
    await t.close();
  });
  return { t, tu, layer, port: t.endpoints()[0]!.bound.port };
}

function fmt(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

describe.each(FAMILIES)('transport + transactions over $name', ({ host, udp }) => {
  it('UDP UAS: retransmits a 486 until the ACK, then stops', async () => {
    const { tu, port } = await stack(host, 'udp');
    tu.answer = (tx, req) => tx.respond(createResponse(req, 486, undefined, { toTag: 'uas' }));
    const peer = await UdpPeer.open(udp, host);
    cleanups.push(() => peer.close());
    const via = `SIP/2.0/UDP ${fmt(host)}:${peer.port};branch=z9hG4bKs1;rport`;
    await peer.send(requestText({ method: 'INVITE', via }), port, host);
    await waitFor(() => (peer.received.length >= 3 ? true : undefined), 3_000, 'retransmitted 486');
    await peer.send(requestText({ method: 'ACK', via }).replace('To: <sip:agent@127.0.0.1>', 'To: <sip:agent@127.0.0.1>;tag=uas'), port, host);
    await sleep(100);
    const count = peer.received.length;
    await sleep(400);
    expect(peer.received.length).toBe(count);
    expect(peer.messages().every((m) => m.status === 486)).toBe(true);
    expect(tu.requests).toHaveLength(1);
    expect(tu.acks).toHaveLength(0); // absorbed by the transaction
  });

  it('UDP UAC: an OPTIONS transaction gets its response through the real transport', async () => {
    const { tu, layer } = await stack(host, 'udp');
    const peer = await UdpPeer.open(udp, host);
    cleanups.push(() => peer.close());
    const req = SipMessage.request('OPTIONS', `sip:${fmt(host)}:${peer.port}`);
    req.append('From', '<sip:agent@x>;tag=1').append('To', '<sip:peer@x>').append('Call-ID', 'uac-1').append('CSeq', '1 OPTIONS').append('Max-Forwards', '70');
    const tx = layer.sendRequest(req, { transport: 'udp', address: host, port: peer.port });
    const arrived = await waitFor(() => peer.messages()[0], 3_000, 'OPTIONS');
    const r = peer.received[0]!;
    await peer.send(createResponse(arrived, 200, undefined, { toTag: 'p' }).toBuffer(), r.port, r.address);
    await waitFor(() => (tu.responses.length === 1 ? true : undefined), 3_000, 'response');
    expect(tu.responses).toEqual([200]);
    expect(tx.state).toBe('completed');
  });

  it('TCP UAS: CANCEL gets 200, the TU answers 487, the ACK ends it', async () => {
    const { tu, port } = await stack(host, 'tcp');
    tu.answer = (tx, req) => {
      if (req.method === 'INVITE') tx.respond(createResponse(req, 180, undefined, { toTag: 'uas' }));
    };
    const c = await TcpPeer.connect(host, port);
    cleanups.push(() => c.close());
    const via = `SIP/2.0/TCP ${fmt(host)}:5999;branch=z9hG4bKc1`;
    await c.write(requestText({ method: 'INVITE', via }));
    await waitFor(() => c.messages()[0], 3_000, '180');
    await c.write(requestText({ method: 'CANCEL', via }));
    const msgs = await waitFor(() => (c.messages().length >= 3 ? c.messages() : undefined), 3_000, '200 and 487');
    expect(msgs.map((m) => `${m.status} ${m.cseq?.method}`)).toEqual(['180 INVITE', '200 CANCEL', '487 INVITE']);
    expect(tu.cancels).toHaveLength(1);
    await c.write(requestText({ method: 'ACK', via }).replace('To: <sip:agent@127.0.0.1>', 'To: <sip:agent@127.0.0.1>;tag=uas'));
    await waitFor(() => (tu.cancels[0]!.state === 'terminated' ? true : undefined), 3_000, 'INVITE transaction ends (Timer I = 0)');
  });

  it('answers 503 with Retry-After over the transaction cap', async () => {
    const { tu, port } = await stack(host, 'udp', 16);
    const peer = await UdpPeer.open(udp, host);
    cleanups.push(() => peer.close());
    for (let i = 0; i < 17; i++) {
      await peer.send(requestText({ via: `SIP/2.0/UDP ${fmt(host)}:${peer.port};branch=z9hG4bKcap${i}`, callId: `cap-${i}` }), port, host);
    }
    const rejected = await waitFor(() => peer.messages().find((m) => m.status === 503), 3_000, '503');
    expect(rejected.get('retry-after')).toBeDefined();
    expect(tu.requests).toHaveLength(16);
  });
});
