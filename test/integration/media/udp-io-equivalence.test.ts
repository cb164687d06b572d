/**
 * The native RTP io (native/udp-batch: recvmmsg/sendmmsg) against the node:dgram reference: the same octets on
 * the wire, the same datagrams handed to the session, the same session and leg output, over real sockets on
 * loopback. The addon is optional: without a build these tests are skipped, unless CALLROOM_REQUIRE_NATIVE=1
 * (CI, which installs the compiler) makes a missing build a failure.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
import { DgramRtpIo } from '../../../src/media/rtp/dgram-udp-io.ts';
import { NativeRtpIo } from '../../../src/media/rtp/native-udp-io.ts';
import { serializeRtp, type RtpPacket, type RtpPacketInit } from '../../../src/media/rtp/packet.ts';
import { Pacer } from '../../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../../src/media/rtp/port-allocator.ts';
import { RtpSession } from '../../../src/media/rtp/rtp-session.ts';
import type { RtpIo } from '../../../src/media/rtp/udp-io.ts';
import { RtpAudioLeg } from '../../../src/transports/sip/rtp-audio-leg.ts';

const LO = '127.0.0.1';
const native = NativeRtpIo.create();
const required = process.env.CALLROOM_REQUIRE_NATIVE === '1';
const run = native.io !== null || required ? describe : describe.skip;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function ios(): Array<[string, RtpIo]> {
  if (native.io === null) throw new Error(`native io required but unavailable: ${native.reason}`);
  return [
    ['dgram', new DgramRtpIo()],
    ['native', native.io],
  ];
}

/** A plain node:dgram peer that records every datagram (octets and source port) and can send. */
async function peer(): Promise<{ port: number; got: Array<{ bytes: number[]; from: number }>; send(b: Uint8Array, port: number): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, LO, r));
  const got: Array<{ bytes: number[]; from: number }> = [];
  socket.on('message', (msg, rinfo) => got.push({ bytes: [...msg], from: rinfo.port }));
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return {
    port: socket.address().port,
    got,
    send: (b, port) => new Promise<void>((r, j) => socket.send(b, port, LO, (err) => (err ? j(err) : r()))),
  };
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Packets that exercise every header field the serializer writes. */
function packets(): RtpPacketInit[] {
  const out: RtpPacketInit[] = [];
  for (let i = 0; i < 40; i++) {
    out.push({
      marker: i % 7 === 0,
      payloadType: i % 5 === 0 ? 101 : 0,
      sequenceNumber: (65530 + i) & 0xffff,
      timestamp: (0xfffffff0 + i * 160) >>> 0,
      ssrc: 0xdeadbeef,
      ...(i % 9 === 3 ? { csrc: [1, 2, 0xffffffff] } : {}),
      ...(i % 11 === 4 ? { extension: { profile: 0xbede, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) } } : {}),
      ...(i % 13 === 5 ? { paddingLength: 4 } : {}),
      payload: Uint8Array.from({ length: i === 17 ? 1400 : 160 }, (_, k) => (k * 31 + i) & 0xff),
    });
  }
  return out;
}

/** Datagrams a media port meets: RTP, STUN, RTCP, garbage, empty, a full-size one. */
function inbound(): Uint8Array[] {
  const out: Uint8Array[] = packets().map((p) => serializeRtp(p));
  out.push(Uint8Array.from([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, ...new Array(12).fill(9)])); // STUN binding
  out.push(Uint8Array.from([0x80, 200, 0, 6, ...new Array(24).fill(1)])); // RTCP SR
  out.push(Uint8Array.from([1, 2, 3]));
  out.push(new Uint8Array(0));
  out.push(new Uint8Array(2048).fill(0x80));
  return out;
}

run('native RTP io against node:dgram', () => {
  it('puts the same octets on the wire, from the bound port, in order', async () => {
    const results: Array<Array<{ bytes: number[]; fromSelf: boolean }>> = [];
    for (const [, io] of ios()) {
      const p = await peer();
      const s = await io.open(LO, undefined, 0, {});
      cleanups.push(() => s.close());
      let octets = 0;
      for (const pkt of packets()) octets += s.sendRtp(pkt, { address: LO, port: p.port });
      await waitFor(() => p.got.length === 40);
      expect(octets).toBe(p.got.reduce((a, g) => a + g.bytes.length, 0));
      results.push(p.got.map((g) => ({ bytes: g.bytes, fromSelf: g.from === s.port })));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]?.every((r) => r.fromSelf)).toBe(true);
  });

  it('hands the receiver the same datagrams and sources', async () => {
    const results: Array<Array<{ bytes: number[]; address: string; fromPeer: boolean }>> = [];
    for (const [, io] of ios()) {
      const p = await peer();
      const s = await io.open(LO, undefined, 0, { recvBufferSize: 1 << 20 });
      cleanups.push(() => s.close());
      const got: Array<{ bytes: number[]; address: string; fromPeer: boolean }> = [];
      s.setReceiver(
        (buf, from) => got.push({ bytes: [...buf], address: from.address, fromPeer: from.port === p.port }),
        (err) => got.push({ bytes: [], address: String(err), fromPeer: false }),
      );
      const all = inbound();
      for (const d of all) await p.send(d, s.port);
      await waitFor(() => got.length === all.length);
      results.push(got);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0]?.every((r) => r.address === LO && r.fromPeer)).toBe(true);
  });

  it('takes ports from an allocator the same way, moving past one another socket holds', async () => {
    for (const [, io] of ios()) {
      const blocker = dgram.createSocket('udp4');
      const ports = new PortAllocator({ min: 40_000 + Math.floor(Math.random() * 2000) * 2, max: 65_000 });
      const first = ports.allocate();
      ports.release(first);
      const probe = new PortAllocator({ min: ports.min, max: ports.max });
      await new Promise<void>((r) => blocker.bind(probe.allocate(), LO, r));
      cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
      const s = await io.open(LO, new PortAllocator({ min: ports.min, max: ports.max }), undefined, {});
      cleanups.push(() => s.close());
      expect(s.port).toBe(ports.min + 2);
    }
  });

  it('gives an RtpSession the same output: paced packets, stats, and the packets it hands on', async () => {
    const results: unknown[] = [];
    for (const [, io] of ios()) {
      const clock = new FakeClock(0);
      const pacer = new Pacer({ clock, resolutionMs: 5 });
      cleanups.push(() => pacer.close());
      const p = await peer();
      const handed: Array<{ seq: number; payload: number[] }> = [];
      const s = await RtpSession.open({
        pacer,
        io,
        bindAddress: LO,
        port: 0,
        codec: { payloadType: 0, clockRate: 8000, ptimeMs: 20 },
        remote: { address: LO, port: p.port },
        ssrc: 42,
        initialSequence: 65534,
        initialTimestamp: 1000,
        onPacket: (pkt: RtpPacket) => handed.push({ seq: pkt.sequenceNumber, payload: [...pkt.payload] }),
      });
      cleanups.push(() => s.close());
      for (let i = 0; i < 10; i++) s.enqueue(new Uint8Array(160).fill(i));
      s.sendDtmf('5', 60);
      for (let i = 0; i < 16; i++) {
        clock.advance(20);
        await new Promise((r) => setImmediate(r));
      }
      // the peer answers: in order, one duplicate, one reordered, one from a stranger port is not possible here
      const seqs = [100, 101, 101, 103, 102, 104];
      for (const q of seqs) await p.send(serializeRtp({ payloadType: 0, sequenceNumber: q, timestamp: q * 160, ssrc: 7, payload: new Uint8Array(160).fill(q & 0xff) }), s.port);
      await waitFor(() => handed.length === seqs.length && p.got.length >= 13);
      const st = s.stats();
      results.push({
        wire: p.got.map((g) => g.bytes),
        handed,
        sent: st.sent,
        received: { packets: st.received.packets, bytes: st.received.bytes, lost: st.received.lost },
        ignored: st.ignored,
        queue: st.queue,
        io: s.socketInfo.io,
      });
    }
    const [a, b] = results as Array<Record<string, unknown>>;
    expect(a?.io).toBe('dgram');
    expect(b?.io).toBe('native');
    expect({ ...b, io: 'x' }).toEqual({ ...a, io: 'x' });
  });

  it('gives an RTP audio leg the same frames, G.711 bytes and echo, and its bytes stay intact when kept', async () => {
    const results: unknown[] = [];
    for (const [, io] of ios()) {
      const clock = new FakeClock(0);
      const pacer = new Pacer({ clock, resolutionMs: 5 });
      cleanups.push(() => pacer.close());
      const base = 30_000 + Math.floor(Math.random() * 4000) * 2;
      const leg = await RtpAudioLeg.open({ pacer, io, ports: new PortAllocator({ min: base, max: base + 40 }), bindAddress: LO, advertiseAddress: LO, jitterMs: 40 });
      cleanups.push(() => leg.close());
      const p = await peer();
      leg.configure({ codec: 'PCMU', payloadType: 0, ptime: 20, remoteAddress: LO, remotePort: p.port, direction: 'sendrecv' } as Parameters<RtpAudioLeg['configure']>[0]);
      const frames: number[][] = [];
      const kept: Uint8Array[] = [];
      let arrived = 0;
      leg.setSinks({
        onAudio: (f) => {
          frames.push([...f.samples.subarray(0, 8)]);
          leg.sendFrame(f); // echo
        },
        onPayload: (bytes) => kept.push(bytes),
        onArrival: () => arrived++,
      });
      let sent = 0;
      for (let k = 0; k < 60; k++) {
        if (k % 17 !== 9) {
          // one packet in 17 lost
          await p.send(serializeRtp({ payloadType: 0, sequenceNumber: 500 + k, timestamp: k * 160, ssrc: 9, payload: Uint8Array.from({ length: 160 }, (_, i) => (i * 7 + k * 13) & 0xff) }), leg.port);
          sent++;
          await waitFor(() => arrived === sent);
        }
        clock.advance(20);
        await new Promise((r) => setImmediate(r));
      }
      const keptNow = kept.map((b) => [...b]);
      // 100 more packets through the same receive area: what was kept must not change
      for (let k = 60; k < 160; k++) {
        await p.send(serializeRtp({ payloadType: 0, sequenceNumber: 500 + k, timestamp: k * 160, ssrc: 9, payload: new Uint8Array(160).fill(0x55) }), leg.port);
        sent++;
        await waitFor(() => arrived === sent);
      }
      expect(kept.map((b) => [...b])).toEqual(keptNow);
      await waitFor(() => p.got.length > 0);
      results.push({ frames, kept: keptNow, wire: p.got.map((g) => g.bytes.slice(12)), counters: leg.mediaCounters() });
    }
    expect(results[1]).toEqual(results[0]);
    expect((results[0] as { frames: unknown[] }).frames.length).toBeGreaterThan(50);
  });
});
