/**
 * The native/udp-batch addon on its own: address conversion as node:dgram reports addresses, bind errors as
 * errno codes, per-packet send errors, and oversized datagrams reported instead of cut short. Skipped when the
 * addon is not built, unless CALLROOM_REQUIRE_NATIVE=1 (CI).
 */
import dgram from 'node:dgram';
import { SocketAddress } from 'node:net';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadUdpBatchAddon, NativeRtpIo } from '../../../src/media/rtp/native-udp-io.ts';
import { openRtpIo } from '../../../src/media/rtp/rtp-io.ts';

const { addon, reason } = loadUdpBatchAddon();
const run = addon !== null || process.env.CALLROOM_REQUIRE_NATIVE === '1' ? describe : describe.skip;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function io(): NativeRtpIo {
  const made = NativeRtpIo.create();
  if (made.io === null) throw new Error(`addon required: ${reason}`);
  const x = made.io;
  cleanups.push(() => x.close());
  return x;
}

run('udp-batch addon', () => {
  it('converts addresses both ways as node:dgram writes them', () => {
    if (addon === null) throw new Error(reason);
    for (const a of ['127.0.0.1', '0.0.0.0', '255.255.255.255', '10.1.2.3', '::1', '::', 'fe80::1', '2001:db8::8:800:200c:417a', '::ffff:192.0.2.1', '2001:db8:0:0:1:0:0:1']) {
      const w = addon.pton(a);
      expect(w).not.toBeNull();
      const [f, a0, a1, a2, a3] = w as [number, number, number, number, number];
      const back = addon.ntop(f, a0, a1, a2, a3);
      // node:dgram's rinfo.address for the same address (libuv's inet_ntop)
      const expected = new SocketAddress({ address: a, family: f === 4 ? 'ipv4' : 'ipv6' }).address;
      expect(back).toBe(expected);
    }
    expect(addon.pton('localhost')).toBeNull();
    expect(addon.pton('1.2.3')).toBeNull();
  });

  it('reports a port in use as EADDRINUSE, and the kernel buffer sizes asked for', async () => {
    const x = io();
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => holder.close(() => r())));
    await expect(x.open('127.0.0.1', undefined, holder.address().port, {})).rejects.toMatchObject({
      code: 'CR_RTP_BIND_FAILED',
      cause: { code: 'EADDRINUSE' },
    });
    const s = await x.open('127.0.0.1', undefined, 0, { recvBufferSize: 65_536, sendBufferSize: 65_536 });
    cleanups.push(() => s.close());
    expect(s.bufferSizes()).toEqual({ recv: 131_072, send: 131_072 });
  });

  it('counts a send the kernel refuses against its socket only, and sends the rest of the batch', async () => {
    const x = io();
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => sink.close(() => r())));
    let got = 0;
    sink.on('message', () => got++);
    const a = await x.open('127.0.0.1', undefined, 0, {});
    const b = await x.open('127.0.0.1', undefined, 0, {});
    cleanups.push(() => a.close(), () => b.close());
    const errs: string[] = [];
    a.setSendErrorHandler((e) => errs.push(`a ${(e as NodeJS.ErrnoException).code}`));
    b.setSendErrorHandler((e) => errs.push(`b ${(e as NodeJS.ErrnoException).code}`));
    const pkt = { payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: new Uint8Array(160) };
    a.sendRtp(pkt, { address: '127.0.0.1', port: sink.address().port });
    b.sendRtp(pkt, { address: '127.0.0.1', port: 0 }); // port 0: EINVAL from sendmmsg
    a.sendRtp(pkt, { address: '127.0.0.1', port: sink.address().port });
    await new Promise((r) => setTimeout(r, 30));
    expect(errs).toEqual(['b EINVAL']);
    expect(got).toBe(2);
    expect(x.counters.sendErrors).toBe(1);
  });

  it('reports a datagram larger than a receive slot as an error, not as a packet cut short', async () => {
    const x = io();
    const s = await x.open('127.0.0.1', undefined, 0, {});
    cleanups.push(() => s.close());
    const seen: string[] = [];
    s.setReceiver(
      (buf) => seen.push(`datagram ${buf.length}`),
      (e) => seen.push(`error ${(e as NodeJS.ErrnoException).code}`),
    );
    const peer = dgram.createSocket('udp4');
    cleanups.push(() => new Promise<void>((r) => peer.close(() => r())));
    for (const n of [2048, 2049, 10]) await new Promise<void>((r) => peer.send(new Uint8Array(n), s.port, '127.0.0.1', () => r()));
    const end = Date.now() + 2000;
    while (seen.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['datagram 2048', 'error EMSGSIZE', 'datagram 10']);
  });

  it('picks the io from config: native when built, dgram when asked', () => {
    const auto = openRtpIo('auto');
    const forced = openRtpIo('dgram');
    try {
      expect(auto.kind).toBe('native');
      expect(forced.kind).toBe('dgram');
    } finally {
      auto.close();
      forced.close();
    }
  });
});

describe('native/build.mjs', () => {
  it('never fails the install: without a compiler it says so, exits 0 and leaves no addon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callroom-native-'));
    try {
      cpSync(join(import.meta.dirname, '../../../native'), join(dir, 'native'), { recursive: true, filter: (p) => !/\/build(\/|$)/.test(p) });
      const r = spawnSync(process.execPath, [join(dir, 'native', 'build.mjs')], {
        encoding: 'utf8',
        // headers found, node-gyp found, but no make or cc on PATH
        env: { PATH: join(dir, 'no-such-bin'), CALLROOM_NODEDIR: '/usr', HOME: dir },
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/callroom native: (could not build udp-batch|skipped)/);
      expect(existsSync(join(dir, 'native', 'udp-batch', 'build', 'Release', 'udp_batch.node'))).toBe(false);
      const skipped = spawnSync(process.execPath, [join(dir, 'native', 'build.mjs')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', CALLROOM_SKIP_NATIVE: '1' } });
      expect(skipped.status).toBe(0);
      expect(skipped.stdout).toContain('skipped (CALLROOM_SKIP_NATIVE=1)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
