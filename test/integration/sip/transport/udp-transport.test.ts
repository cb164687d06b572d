import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import { createSipTransport, type SipTransport, type SipTransportOptions } from '../../../../src/sip/transport/sip-transport.ts';
import { collect, FAMILIES, openHandles, parse, requestText, sleep, UdpPeer, waitFor } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function udpTransport(host: string, extra: Partial<SipTransportOptions> = {}): Promise<SipTransport> {
  const t = await createSipTransport({ listen: [{ transport: 'udp', host, port: 0 }], ...extra });
  cleanups.push(() => t.close());
  return t;
}

async function peer(type: 'udp4' | 'udp6', host: string): Promise<UdpPeer> {
  const p = await UdpPeer.open(type, host);
  cleanups.push(() => p.close());
  return p;
}

function fmt(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

describe.each(FAMILIES)('UDP transport over $name', ({ host, udp }) => {
  it('stamps received and rport (RFC 3581) and routes the response to received:rport', async () => {
    const t = await udpTransport(host);
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    // sent-by names a host (never resolved) and a port nobody listens on: only rport finds us.
    await client.send(requestText({ via: 'SIP/2.0/UDP client.invalid:5999;branch=z9hG4bKu1;rport' }), port, host);
    const incoming = await waitFor(() => got[0], 3_000, 'request');
    expect(incoming.source.transport).toBe('udp');
    expect(incoming.source.remote).toEqual({ address: host, port: client.port, family: host.includes(':') ? 'IPv6' : 'IPv4' });
    const via = incoming.message.topVia!;
    expect(via.received).toBe(host);
    expect(via.rport).toBe(client.port);
    const result = await t.sendResponse(createResponse(incoming.message, 200, undefined, { toTag: 'a' }), incoming.source);
    expect(result.ok).toBe(true);
    const response = await waitFor(() => client.messages()[0], 3_000, 'response');
    expect(response.status).toBe(200);
    expect(response.topVia?.rport).toBe(client.port);
    expect(client.received[0]!.port).toBe(port); // RFC 3581: from the port the request arrived on
  });

  it('adds no received when sent-by is the source IP, and answers to the sent-by port without rport (§18.2.2)', async () => {
    const t = await udpTransport(host);
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    const listener = await peer(udp, host); // where the client says responses go
    await client.send(requestText({ via: `SIP/2.0/UDP ${fmt(host)}:${listener.port};branch=z9hG4bKu2` }), port, host);
    const incoming = await waitFor(() => got[0], 3_000, 'request');
    expect(incoming.message.topVia?.received).toBeUndefined();
    await t.sendResponse(createResponse(incoming.message, 486, undefined, { toTag: 'a' }), incoming.source);
    const response = await waitFor(() => listener.messages()[0], 3_000, 'response at sent-by');
    expect(response.status).toBe(486);
    expect(client.received).toHaveLength(0);
  });

  it('sends to received with the sent-by port when sent-by is a host name; maddr only when it is an IP', async () => {
    const t = await udpTransport(host);
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    const listener = await peer(udp, host);
    await client.send(requestText({ via: `SIP/2.0/UDP peer.invalid:${listener.port};branch=z9hG4bKu3;maddr=maddr.invalid` }), port, host);
    const incoming = await waitFor(() => got[0], 3_000, 'request');
    expect(incoming.message.topVia?.received).toBe(host);
    expect((await t.sendResponse(createResponse(incoming.message, 200), incoming.source)).ok).toBe(true);
    await waitFor(() => listener.messages()[0], 3_000, 'response at received:sent-by port');

    const maddrTarget = await peer(udp, host);
    const r = createResponse(incoming.message, 180);
    r.replaceFirst('via', `SIP/2.0/UDP peer.invalid:${maddrTarget.port};branch=z9hG4bKu3;maddr=${host}`);
    expect((await t.sendResponse(r, incoming.source)).ok).toBe(true);
    expect((await waitFor(() => maddrTarget.messages()[0], 3_000, 'response at maddr')).status).toBe(180);
  });

  it('never resolves DNS: a host-name destination or sent-by without received is an error value', async () => {
    const t = await udpTransport(host);
    const req = parse(requestText({ via: 'SIP/2.0/UDP x.invalid;branch=z9hG4bKu4' }));
    const sent = await t.send(req, { transport: 'udp', address: 'peer.invalid', port: 5060 });
    expect(sent.ok ? 'ok' : sent.error.code).toBe('CR_SIP_TRANSPORT_NEEDS_DNS');
    const res = createResponse(req, 200);
    const routed = await t.sendResponse(res, { transport: 'udp', remote: { address: host, port: 5999, family: 'IPv4' }, local: t.endpoints()[0]!.bound });
    expect(routed.ok ? 'ok' : routed.error.code).toBe('CR_SIP_TRANSPORT_NEEDS_DNS');
    expect(t.stats.sendErrors).toBe(2);
  });

  it('fills the top Via sent-by of requests it sends (§18.1.1) and accepts only responses for its own sent-by', async () => {
    const t = await udpTransport(host);
    const got = collect(t);
    const ep = t.endpoints()[0]!;
    const server = await peer(udp, host);
    const req = SipMessage.request('OPTIONS', `sip:${fmt(host)}:${server.port}`);
    req.append('Via', 'SIP/2.0/UDP placeholder.invalid;branch=z9hG4bKout1;rport');
    req.append('From', '<sip:agent@x>;tag=1').append('To', '<sip:peer@x>').append('Call-ID', 'c1').append('CSeq', '1 OPTIONS');
    expect((await t.send(req, { transport: 'udp', address: host, port: server.port })).ok).toBe(true);
    const arrived = await waitFor(() => server.messages()[0], 3_000, 'request');
    expect(arrived.topVia?.host).toBe(host);
    expect(arrived.topVia?.port).toBe(ep.bound.port);
    expect(arrived.topVia?.branch).toBe('z9hG4bKout1');
    const ok = createResponse(arrived, 200, undefined, { toTag: 'p' });
    await server.send(ok.toBuffer(), ep.bound.port, host);
    const foreign = createResponse(arrived, 200, undefined, { toTag: 'p' });
    foreign.replaceFirst('via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKout1');
    await server.send(foreign.toBuffer(), ep.bound.port, host);
    await waitFor(() => (t.stats.foreignResponses === 1 ? true : undefined), 3_000, 'foreign response');
    expect(got.map((g) => g.message.status)).toEqual([200]);
  });

  it('answers an oversized request 513 and a malformed one 400 statelessly, without passing them on', async () => {
    const t = await udpTransport(host, { limits: { maxMessageBytes: 2048 } });
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    const via = `SIP/2.0/UDP ${fmt(host)}:${client.port};branch=z9hG4bKbig;rport`;
    await client.send(requestText({ via, body: 'x'.repeat(3000) }), port, host);
    const tooBig = await waitFor(() => client.messages()[0], 3_000, '513');
    expect(tooBig.status).toBe(513);
    expect(tooBig.topVia?.branch).toBe('z9hG4bKbig');
    // Content-Length larger than the datagram (RFC 4475 clerr-like): 400.
    const bad = requestText({ via: via.replace('big', 'bad'), body: 'abc' }).replace('Content-Length: 3', 'Content-Length: 30');
    await client.send(bad, port, host);
    const four = await waitFor(() => client.messages()[1], 3_000, '400');
    expect(four.status).toBe(400);
    expect(four.reason).toMatch(/Content-Length/);
    expect(got).toHaveLength(0);
    expect(t.stats.rejected).toBe(2);
  });

  it('answers too many headers and a too-long line 513 (configurable limits)', async () => {
    const t = await udpTransport(host, { limits: { maxHeaders: 12, maxLineLength: 300 } });
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    const via = (b: string): string => `SIP/2.0/UDP ${fmt(host)}:${client.port};branch=${b};rport`;
    const many = Array.from({ length: 20 }, (_, i) => `X-Filler-${i}: ${i}`);
    await client.send(requestText({ via: via('z9hG4bKmany'), extra: many }), port, host);
    await client.send(requestText({ via: via('z9hG4bKlong'), extra: [`Subject: ${'s'.repeat(400)}`] }), port, host);
    const answers = await waitFor(() => (client.received.length === 2 ? client.messages() : undefined), 3_000, 'two 513');
    expect(answers.map((m) => `${m.status} ${m.topVia?.branch}`).sort()).toEqual(['513 z9hG4bKlong', '513 z9hG4bKmany']);
    // Within the limits the same request passes.
    await client.send(requestText({ via: via('z9hG4bKfine'), extra: many.slice(0, 3) }), port, host);
    await waitFor(() => got[0], 3_000, 'request within limits');
  });

  it('drops garbage with a counter, never crashes, and keeps working', async () => {
    const t = await udpTransport(host);
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    const valid = requestText({ via: `SIP/2.0/UDP ${fmt(host)}:${client.port};branch=z9hG4bKg` });
    const counted = (): number => t.stats.dropped + t.stats.rejected + t.stats.keepalives + got.length;
    for (let i = 0; i < 300; i++) {
      const junk = i % 3 === 0 ? randomBytes(1 + (i % 700)) : Buffer.from(valid.slice(0, (i * 7) % valid.length) + randomBytes(5).toString('latin1'));
      await client.send(junk, port, host);
      // Pace the flood so the loopback receive buffer does not overflow (lost datagrams prove nothing).
      if (i % 10 === 9) await sleep(2);
    }
    await client.send('\r\n\r\n', port, host);
    await client.send(valid, port, host);
    await waitFor(() => got.find((g) => g.message.topVia?.branch === 'z9hG4bKg'), 5_000, 'valid request after garbage');
    // Every datagram is accounted for (loopback UDP may still lose one under load: no exact count).
    expect(counted()).toBeGreaterThan(250);
    expect(counted()).toBeLessThanOrEqual(302);
    expect(t.stats.dropped).toBeGreaterThan(50);
    expect(t.stats.handlerErrors).toBe(0);
  });

  it('survives a receiver that throws', async () => {
    const t = await udpTransport(host);
    t.setReceiver(() => {
      throw new Error('receiver bug');
    });
    const port = t.endpoints()[0]!.bound.port;
    const client = await peer(udp, host);
    await client.send(requestText({ via: `SIP/2.0/UDP ${fmt(host)}:${client.port};branch=z9hG4bKt` }), port, host);
    await waitFor(() => (t.stats.handlerErrors === 1 ? true : undefined), 3_000, 'handler error counted');
  });
});

describe('UDP transport lifecycle', () => {
  it('close() releases every socket', async () => {
    await sleep(10);
    const before = openHandles();
    const t = await createSipTransport({
      listen: [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'udp', host: '::1', port: 0 },
      ],
    });
    expect(openHandles()).toBe(before + 2);
    await t.close();
    await sleep(10);
    expect(openHandles()).toBe(before);
    const after = await t.send(parse(requestText({ via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKc' })), { transport: 'udp', address: '127.0.0.1', port: 9 });
    expect(after.ok ? 'ok' : after.error.code).toBe('CR_SIP_TRANSPORT_CLOSED');
  });

  it('fails to open (and closes what it opened) when a port is taken', async () => {
    await sleep(10);
    const before = openHandles();
    const first = await createSipTransport({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] });
    const port = first.endpoints()[0]!.bound.port;
    await expect(
      createSipTransport({
        listen: [
          { transport: 'udp', host: '::1', port: 0 },
          { transport: 'udp', host: '127.0.0.1', port },
        ],
      }),
    ).rejects.toThrow();
    await first.close();
    await sleep(10);
    expect(openHandles()).toBe(before);
  });
});
