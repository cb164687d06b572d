import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { SipMessage } from '../../../../src/sip/message/sip-message.ts';
import { createSipTransport, type SipTransport, type SipTransportOptions } from '../../../../src/sip/transport/sip-transport.ts';
import { collect, FAMILIES, openHandles, requestText, sleep, TcpPeer, TcpServerPeer, waitFor } from './support.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function tcpTransport(host: string, extra: Partial<SipTransportOptions> = {}): Promise<SipTransport> {
  const t = await createSipTransport({ listen: [{ transport: 'tcp', host, port: 0 }], ...extra });
  cleanups.push(() => t.close());
  return t;
}

async function client(host: string, port: number): Promise<TcpPeer> {
  const c = await TcpPeer.connect(host, port);
  cleanups.push(() => c.close());
  return c;
}

async function server(host: string): Promise<TcpServerPeer> {
  const s = await TcpServerPeer.listen(host);
  cleanups.push(() => s.close());
  return s;
}

function fmt(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function outgoingRequest(host: string, port: number, branch: string): SipMessage {
  const req = SipMessage.request('OPTIONS', `sip:${fmt(host)}:${port};transport=tcp`);
  req.append('Via', `SIP/2.0/TCP placeholder.invalid;branch=${branch}`);
  req.append('From', '<sip:agent@x>;tag=1').append('To', '<sip:peer@x>').append('Call-ID', branch).append('CSeq', '1 OPTIONS');
  return req;
}

describe.each(FAMILIES)('TCP transport over $name', ({ host }) => {
  it('frames a request fed one byte at a time, stamps received/rport, answers on the same connection', async () => {
    const t = await tcpTransport(host);
    const got = collect(t);
    const c = await client(host, t.endpoints()[0]!.bound.port);
    const text = requestText({ method: 'INVITE', via: 'SIP/2.0/TCP client.invalid:5999;branch=z9hG4bKt1;rport', body: 'v=0\r\n' });
    for (const byte of Buffer.from(text)) {
      await c.write(Buffer.from([byte]));
    }
    const incoming = await waitFor(() => got[0], 5_000, 'request');
    expect(incoming.source.transport).toBe('tcp');
    expect(incoming.source.connectionId).toBeTypeOf('number');
    expect(incoming.message.method).toBe('INVITE');
    expect(Buffer.from(incoming.message.body).toString()).toBe('v=0\r\n');
    expect(incoming.message.topVia?.received).toBe(host);
    expect(incoming.message.topVia?.rport).toBe(c.socket.localPort);
    const res = await t.sendResponse(createResponse(incoming.message, 180, undefined, { toTag: 'a' }), incoming.source);
    expect(res.ok && res.connectionId).toBe(incoming.source.connectionId);
    expect((await waitFor(() => c.messages()[0], 3_000, 'response')).status).toBe(180);
    expect(t.connectionCount).toBe(1);
  });

  it('splits two messages arriving in one chunk, and answers a CRLFCRLF ping with CRLF (RFC 5626)', async () => {
    const t = await tcpTransport(host);
    const got = collect(t);
    const c = await client(host, t.endpoints()[0]!.bound.port);
    const one = requestText({ via: `SIP/2.0/TCP ${fmt(host)}:5070;branch=z9hG4bKa` });
    const two = requestText({ via: `SIP/2.0/TCP ${fmt(host)}:5070;branch=z9hG4bKb`, cseq: 2 });
    await c.write(one + two);
    await waitFor(() => (got.length === 2 ? true : undefined), 3_000, 'two requests');
    expect(got.map((g) => g.message.topVia?.branch)).toEqual(['z9hG4bKa', 'z9hG4bKb']);
    await c.write('\r\n\r\n');
    await waitFor(() => (c.data === '\r\n' ? true : undefined), 3_000, 'pong');
    expect(t.stats.keepalives).toBe(2);
  });

  it('answers a request whose Content-Length is over the limit 513 and closes the connection', async () => {
    const t = await tcpTransport(host, { limits: { maxMessageBytes: 2048 } });
    const got = collect(t);
    const c = await client(host, t.endpoints()[0]!.bound.port);
    await c.write(requestText({ via: `SIP/2.0/TCP ${fmt(host)}:5070;branch=z9hG4bKbig`, body: 'x'.repeat(4000) }));
    await waitFor(() => (c.closed ? true : undefined), 3_000, 'connection closed');
    expect(c.messages().map((m) => m.status)).toEqual([513]);
    expect(got).toHaveLength(0);
    await waitFor(() => (t.connectionCount === 0 ? true : undefined), 3_000, 'connection forgotten');
  });

  it('answers a request without Content-Length 400 and closes (§18.3: streams must carry it)', async () => {
    const t = await tcpTransport(host);
    const c = await client(host, t.endpoints()[0]!.bound.port);
    const text = requestText({ via: `SIP/2.0/TCP ${fmt(host)}:5070;branch=z9hG4bKnocl` }).replace('Content-Length: 0\r\n', '');
    await c.write(text);
    await waitFor(() => (c.closed ? true : undefined), 3_000, 'connection closed');
    const [m] = c.messages();
    expect(m?.status).toBe(400);
    expect(m?.reason).toMatch(/Content-Length/);
  });

  it('opens a new connection to received and the sent-by port when the request connection has closed (§18.2.2)', async () => {
    const t = await tcpTransport(host);
    const got = collect(t);
    const peerListener = await server(host);
    const c = await client(host, t.endpoints()[0]!.bound.port);
    await c.write(requestText({ via: `SIP/2.0/TCP peer.invalid:${peerListener.port};branch=z9hG4bKre` }));
    const incoming = await waitFor(() => got[0], 3_000, 'request');
    c.close();
    await waitFor(() => (t.isConnectionOpen(incoming.source.connectionId!) ? undefined : true), 3_000, 'connection gone');
    const res = await t.sendResponse(createResponse(incoming.message, 200, undefined, { toTag: 'a' }), incoming.source);
    expect(res.ok).toBe(true);
    const p = await waitFor(() => peerListener.peers[0], 3_000, 'new connection');
    expect((await waitFor(() => p.messages()[0], 3_000, 'response on new connection')).status).toBe(200);
  });

  it('reuses one connection per destination and fills sent-by with the listener port', async () => {
    const t = await tcpTransport(host);
    const peerServer = await server(host);
    const a = outgoingRequest(host, peerServer.port, 'z9hG4bKr1');
    const b = outgoingRequest(host, peerServer.port, 'z9hG4bKr2');
    const [ra, rb] = await Promise.all([
      t.send(a, { transport: 'tcp', address: host, port: peerServer.port }),
      t.send(b, { transport: 'tcp', address: host, port: peerServer.port }),
    ]);
    expect(ra.ok && rb.ok).toBe(true);
    expect(ra.ok && ra.connectionId).toBe(rb.ok && rb.connectionId);
    const p = await waitFor(() => peerServer.peers[0], 3_000, 'connection');
    const msgs = await waitFor(() => (p.messages().length === 2 ? p.messages() : undefined), 3_000, 'two requests');
    expect(peerServer.peers).toHaveLength(1);
    expect(msgs[0]!.topVia?.transport).toBe('TCP');
    expect(msgs[0]!.topVia?.host).toBe(host);
    expect(msgs[0]!.topVia?.port).toBe(t.endpoints()[0]!.bound.port);
    // The peer answers on the same connection: delivered with that connection id.
    const got = collect(t);
    await p.write(createResponse(msgs[0]!, 200, undefined, { toTag: 'x' }).toBuffer());
    const res = await waitFor(() => got[0], 3_000, 'response');
    expect(res.source.connectionId).toBe(ra.ok ? ra.connectionId : -1);
  });

  it('reports a refused connection as an error value', async () => {
    const t = await tcpTransport(host);
    const closed = await server(host);
    const port = closed.port;
    await closed.close();
    cleanups.pop();
    const r = await t.send(outgoingRequest(host, port, 'z9hG4bKno'), { transport: 'tcp', address: host, port });
    expect(r.ok ? 'ok' : r.error.code).toBe('CR_SIP_TRANSPORT_CONNECT_FAILED');
  });

  it('closes idle connections and refuses connections over the cap', async () => {
    const t = await tcpTransport(host, { tcp: { idleTimeoutMs: 150, maxConnections: 2 } });
    const port = t.endpoints()[0]!.bound.port;
    const a = await client(host, port);
    const b = await client(host, port);
    await waitFor(() => (t.connectionCount === 2 ? true : undefined), 3_000, 'two connections');
    const c = await client(host, port);
    await waitFor(() => (c.closed ? true : undefined), 3_000, 'third refused');
    expect(t.stats.connectionsRefused).toBe(1);
    await waitFor(() => (a.closed && b.closed ? true : undefined), 3_000, 'idle connections closed');
    expect(t.connectionCount).toBe(0);
  });

  it('survives garbage on a connection (closing it) and keeps serving others', async () => {
    const t = await tcpTransport(host);
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    for (let i = 0; i < 20; i++) {
      const c = await client(host, port);
      await c.write(randomBytes(200 + i * 50));
      await c.write('\r\n\r\n' + randomBytes(100).toString('latin1'));
    }
    const good = await client(host, port);
    await good.write(requestText({ via: `SIP/2.0/TCP ${fmt(host)}:5070;branch=z9hG4bKok` }));
    await waitFor(() => got.find((g) => g.message.topVia?.branch === 'z9hG4bKok'), 3_000, 'valid request');
    expect(t.stats.handlerErrors).toBe(0);
  });
});

describe('TCP transport lifecycle', () => {
  it('close() closes listeners and every connection, leaving no handle open', async () => {
    await sleep(20);
    const before = openHandles();
    const t = await createSipTransport({
      listen: [
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '::1', port: 0 },
        { transport: 'udp', host: '127.0.0.1', port: 0 },
      ],
    });
    const c4 = await TcpPeer.connect('127.0.0.1', t.endpoints().find((e) => e.transport === 'tcp' && e.bound.family === 'IPv4')!.bound.port);
    const c6 = await TcpPeer.connect('::1', t.endpoints().find((e) => e.transport === 'tcp' && e.bound.family === 'IPv6')!.bound.port);
    const peerServer = await TcpServerPeer.listen('127.0.0.1');
    await t.send(outgoingRequest('127.0.0.1', peerServer.port, 'z9hG4bKcl'), { transport: 'tcp', address: '127.0.0.1', port: peerServer.port });
    await waitFor(() => (t.connectionCount === 3 ? true : undefined), 3_000, 'three connections');
    await t.close();
    await waitFor(() => (c4.closed && c6.closed ? true : undefined), 3_000, 'clients see the close');
    await peerServer.close();
    await sleep(20);
    expect(openHandles()).toBe(before);
  });
});
