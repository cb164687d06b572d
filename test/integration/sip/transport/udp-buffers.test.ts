/**
 * SIP UDP socket buffers: a burst of requests arriving while the event loop is busy waits in the kernel's
 * receive buffer; what does not fit is dropped (UdpRcvbufErrors) and comes back only as a retransmission 500 ms
 * later. The transport asks for a large receive buffer by default, takes sizes from its options, and says when
 * the kernel granted less (net.core.rmem_max).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/core/logger.ts';
import { createSipTransport, DEFAULT_UDP_BUFFERS, type SipTransport, type SipTransportOptions } from '../../../../src/sip/transport/sip-transport.ts';
import { collect, requestText, sleep } from './support.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function transport(extra: Partial<SipTransportOptions> = {}): Promise<SipTransport> {
  const t = await createSipTransport({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], ...extra });
  cleanups.push(() => t.close());
  return t;
}

/** A sender whose sends leave synchronously (an IP literal needs no lookup), so a burst lands while we block. */
async function burstSender(): Promise<Socket> {
  const s = createSocket({
    type: 'udp4',
    sendBufferSize: 8 * 1024 * 1024,
    lookup: ((address: string, _family: unknown, cb: (e: Error | null, a: string, f: number) => void) => cb(null, address, 4)) as never,
  });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => s.close(() => resolve())));
  return s;
}

/** Send `n` distinct OPTIONS to `port` without yielding, then wait until deliveries stop; returns how many arrived. */
async function burst(t: SipTransport, n: number): Promise<number> {
  const got = collect(t);
  const port = t.endpoints()[0]!.bound.port;
  const s = await burstSender();
  for (let i = 0; i < n; i++) {
    s.send(Buffer.from(requestText({ via: `SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKb${i}`, callId: `burst-${i}` })), port, '127.0.0.1');
  }
  let last = -1;
  while (got.length !== last) {
    last = got.length;
    await sleep(100);
  }
  return got.length;
}

const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());

describe('SIP UDP socket buffers', () => {
  it('asks for a 4 MiB receive buffer by default (the kernel grants up to net.core.rmem_max, doubled)', async () => {
    const t = await transport();
    expect(DEFAULT_UDP_BUFFERS.recvBufferSize).toBe(4 * 1024 * 1024);
    const granted = Math.min(DEFAULT_UDP_BUFFERS.recvBufferSize, rmemMax) * 2;
    // A burst sized to fit what was granted (at most 4 KiB of kernel memory per small datagram) all arrives.
    const n = Math.min(2000, Math.floor(granted / 4096));
    expect(await burst(t, n)).toBe(n);
  });

  it('drops a burst that does not fit a small receive buffer: the size is what decides', async () => {
    const small = await transport({ udpBuffers: { recvBufferSize: 16 * 1024 } });
    const n = Math.min(2000, Math.floor((Math.min(DEFAULT_UDP_BUFFERS.recvBufferSize, rmemMax) * 2) / 4096));
    const dropsBefore = readUdpRcvbufErrors();
    const got = await burst(small, n);
    expect(got).toBeLessThan(n);
    expect(readUdpRcvbufErrors() - dropsBefore).toBeGreaterThanOrEqual(n - got);
  });

  it('logs once when the kernel grants less than asked', async () => {
    const lines: Array<{ msg: string; requested?: number; granted?: number }> = [];
    const logger = createLogger(
      { level: 'warn', redactContent: false },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as { msg: string });
          done();
        },
      }),
    );
    const asked = rmemMax * 2 + 4096; // more than any unprivileged request can get
    await transport({ udpBuffers: { recvBufferSize: asked }, logger });
    await sleep(10);
    const warn = lines.filter((l) => l.msg === 'sip udp receive buffer capped by the kernel (net.core.rmem_max)');
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ requested: asked });
    expect(warn[0]?.granted).toBeLessThan(asked);
  });
});

/** The kernel's count of datagrams dropped on full receive buffers (all sockets). */
function readUdpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/);
  const values = (lines[1] ?? '').split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}
