import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import { createSipTransport, type SipTransport } from '../../../../src/sip/transport/sip-transport.ts';
import { collect, TcpPeer, UdpPeer, waitFor } from './support.ts';
import { RFC4475_DIR } from '../../../support/fixture-paths.ts';

/**
 * The RFC 4475 torture messages over real sockets into a transport whose receiver only collects:
 * every message is delivered, answered 400/505/513 back to its source, or dropped and counted.
 * Nothing else is sent (the messages name hosts such as 192.0.2.x and example.com; the transport
 * answers parse failures only to the source address, so nothing leaves loopback).
 */
const DIR = RFC4475_DIR;
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith('.dat'))
  .sort()
  .map((f) => ({ name: f, bytes: readFileSync(join(DIR, f)) }));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function open(transport: 'udp' | 'tcp'): Promise<SipTransport> {
  const t = await createSipTransport({ listen: [{ transport, host: '127.0.0.1', port: 0 }] });
  cleanups.push(() => t.close());
  return t;
}

function accounted(t: SipTransport, delivered: number): number {
  return delivered + t.stats.rejected + t.stats.dropped + t.stats.foreignResponses + t.stats.keepalives;
}

describe('RFC 4475 torture messages over real sockets', () => {
  it('UDP: each datagram is delivered, answered to its source, or dropped; never an exception', async () => {
    const t = await open('udp');
    const got = collect(t);
    const peer = await UdpPeer.open('udp4', '127.0.0.1');
    cleanups.push(() => peer.close());
    const port = t.endpoints()[0]!.bound.port;
    for (const [i, f] of fixtures.entries()) {
      await peer.send(f.bytes, port, '127.0.0.1');
      await waitFor(() => (accounted(t, got.length) === i + 1 ? true : undefined), 3_000, `${f.name} handled`);
    }
    expect(t.stats.handlerErrors).toBe(0);
    // Every request the parser accepts reaches the receiver; the responses (bcast, noreason,
    // unreason) carry a Via that is not ours and are discarded (§18.1.2).
    const parsed = fixtures.map((f) => parseMessage(f.bytes)).filter((o) => o.ok);
    expect(got).toHaveLength(parsed.filter((o) => o.message.isRequest).length);
    expect(t.stats.foreignResponses).toBe(parsed.filter((o) => o.message.isResponse).length);
    // Every stateless answer went back to the peer, and each is a 400, 505 or 513.
    await waitFor(() => (peer.received.length === t.stats.rejected ? true : undefined), 3_000, 'answers');
    // Status lines read raw: a 400 copies the malformed header it complains about.
    const statuses = peer.received.map((r) => Number(/^SIP\/2\.0 (\d{3}) /.exec(r.data.toString('latin1'))?.[1]));
    expect(statuses.every((s) => s === 400 || s === 505 || s === 513)).toBe(true);
    expect(t.stats.rejected).toBeGreaterThan(10);
  });

  it('TCP: each message on its own connection is framed, answered or the connection closed; the listener survives', async () => {
    const t = await open('tcp');
    const got = collect(t);
    const port = t.endpoints()[0]!.bound.port;
    for (const f of fixtures) {
      const c = await TcpPeer.connect('127.0.0.1', port);
      cleanups.push(() => c.close());
      await c.write(f.bytes);
      // Half a message (no Content-Length, or a body shorter than announced) waits for more: end it.
      await waitFor(() => (c.data.length > 0 || got.length > 0 ? true : undefined), 200, f.name).catch(() => undefined);
      c.close();
    }
    await waitFor(() => (t.connectionCount === 0 ? true : undefined), 3_000, 'connections closed');
    expect(t.stats.handlerErrors).toBe(0);
    expect(got.length).toBeGreaterThan(10);
    // Still serving after all of it.
    const c = await TcpPeer.connect('127.0.0.1', port);
    cleanups.push(() => c.close());
    const before = got.length;
    await c.write(fixtures.find((f) => f.name === 'wsinv.dat')!.bytes);
    await waitFor(() => (got.length === before + 1 ? true : undefined), 3_000, 'wsinv after the torture run');
  });
});
