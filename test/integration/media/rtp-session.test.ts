import dgram from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
import { isCallroomError } from '../../../src/core/errors.ts';
import type { DtmfEvent } from '../../../src/media/rtp/dtmf-4733.ts';
import { parseTelephoneEvent } from '../../../src/media/rtp/dtmf-4733.ts';
import { parseRtp, serializeRtp, tsDiff, type RtpPacket } from '../../../src/media/rtp/packet.ts';
import { Pacer } from '../../../src/media/rtp/pacer.ts';
import { PortAllocator, PortsExhaustedError } from '../../../src/media/rtp/port-allocator.ts';
import { RtpSession, type RtpSessionOptions } from '../../../src/media/rtp/rtp-session.ts';

const LO = '127.0.0.1';
const PCMU = { payloadType: 0, clockRate: 8000, ptimeMs: 20 } as const;

/** A plain UDP socket on loopback that records the RTP it receives, with the source port. */
class Sink {
  readonly socket = dgram.createSocket('udp4');
  readonly packets: Array<{ pkt: RtpPacket; port: number }> = [];
  port = 0;
  async open(): Promise<this> {
    await new Promise<void>((r) => this.socket.bind(0, LO, r));
    this.port = this.socket.address().port;
    this.socket.on('message', (msg, rinfo) => {
      const pkt = parseRtp(msg);
      if (pkt !== null) this.packets.push({ pkt, port: rinfo.port });
    });
    return this;
  }
  send(buf: Uint8Array, port: number): Promise<void> {
    return new Promise((r) => this.socket.send(buf, port, LO, () => r()));
  }
  close(): Promise<void> {
    return new Promise((r) => this.socket.close(() => r()));
  }
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function session(opts: Partial<RtpSessionOptions> & { pacer: Pacer }): Promise<RtpSession> {
  const s = await RtpSession.open({ bindAddress: LO, port: 0, codec: PCMU, ...opts });
  cleanups.push(() => s.close());
  return s;
}

async function sink(): Promise<Sink> {
  const k = await new Sink().open();
  cleanups.push(() => k.close());
  return k;
}

function fakePacer(): { clock: FakeClock; pacer: Pacer } {
  const clock = new FakeClock(0);
  const pacer = new Pacer({ clock, resolutionMs: 5 });
  cleanups.push(() => pacer.close());
  return { clock, pacer };
}

const frame = (v: number): Uint8Array => new Uint8Array(160).fill(v);

describe('RtpSession over 127.0.0.1', () => {
  it('carries paced audio from one session to another with continuous seq/ts and RFC 3550 stats', async () => {
    const pacer = new Pacer({ maxBurst: 50 }); // real time: a loaded machine must not make it skip slots
    cleanups.push(() => pacer.close());
    const got: RtpPacket[] = [];
    const b = await session({ pacer, onPacket: (p) => got.push(p) });
    const a = await session({ pacer, remote: { address: LO, port: b.port }, ssrc: 1234, initialSequence: 65530 });
    for (let i = 0; i < 12; i++) a.enqueue(frame(i));
    await waitFor(() => got.length === 12);
    expect(got.map((p) => p.payload[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(got.map((p) => p.sequenceNumber)).toEqual([65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5]);
    for (let i = 1; i < got.length; i++) expect(tsDiff(got[i]!.timestamp, got[i - 1]!.timestamp)).toBe(160);
    expect(got.map((p) => p.marker)).toEqual([true, ...new Array(11).fill(false)]);
    expect(got.every((p) => p.ssrc === 1234 && p.payloadType === 0)).toBe(true);
    expect(a.stats().sent).toMatchObject({ packets: 12, bytes: 12 * 172 });
    const rs = b.stats().received;
    expect(rs).toMatchObject({ packets: 12, lost: 0, ssrc: 1234 });
    expect(Number.isFinite(rs.jitterMs)).toBe(true);
    // b latched onto a's real source port
    expect(b.remote).toEqual({ address: LO, port: a.port });
  });

  it('keeps seq and ts continuous across a silence gap and two playback segments, with the marker on each', async () => {
    const { clock, pacer } = fakePacer();
    const k = await sink();
    const s = await session({ pacer, remote: { address: LO, port: k.port }, initialTimestamp: 0xffffff00 });
    for (let i = 0; i < 3; i++) s.enqueue(frame(i));
    clock.advance(60);
    clock.advance(100); // 5 empty slots: nothing sent, RTP clock runs on
    s.enqueue(frame(3));
    s.enqueue(frame(4));
    clock.advance(60);
    await waitFor(() => k.packets.length === 5);
    const pk = k.packets.map((x) => x.pkt);
    for (let i = 1; i < 5; i++) expect(pk[i]!.sequenceNumber).toBe((pk[i - 1]!.sequenceNumber + 1) & 0xffff);
    // slots at 5, 25, 45 ms; five empty slots 65-145; the second segment starts in the slot at 165 ms
    const dts = pk.slice(1).map((p, i) => tsDiff(p.timestamp, pk[i]!.timestamp));
    expect(dts).toEqual([160, 160, 6 * 160, 160]);
    expect(pk.map((p) => p.marker)).toEqual([true, false, false, true, false]);
    expect(pk[0]!.timestamp).toBe(0xffffff00);
    expect(s.stats().sent.packets).toBe(5);
  });

  it('sends comfort payloads when idle if configured, without a marker', async () => {
    const { clock, pacer } = fakePacer();
    const k = await sink();
    const s = await session({ pacer, remote: { address: LO, port: k.port }, idlePayload: frame(0xff) });
    clock.advance(40);
    s.enqueue(frame(1));
    clock.advance(40);
    await waitFor(() => k.packets.length >= 4);
    expect(k.packets.map((x) => x.pkt.payload[0])).toEqual([0xff, 0xff, 1, 0xff]);
    expect(k.packets.map((x) => x.pkt.marker)).toEqual([true, false, false, false]);
  });

  it('interleaves RFC 4733 DTMF with audio: audio held, one seq space, marker on resumed audio', async () => {
    const { clock, pacer } = fakePacer();
    const k = await sink();
    const s = await session({
      pacer,
      remote: { address: LO, port: k.port },
      telephoneEvent: { payloadType: 101, updateIntervalMs: 20 },
    });
    for (let i = 0; i < 20; i++) s.enqueue(frame(i));
    clock.advance(40); // two audio packets
    s.sendDtmf('7', 60);
    clock.advance(240);
    await waitFor(() => k.packets.length === 14);
    const pk = k.packets.map((x) => x.pkt);
    expect(pk.map((p) => p.payloadType)).toEqual([0, 0, 101, 101, 101, 101, 101, 0, 0, 0, 0, 0, 0, 0]);
    for (let i = 1; i < pk.length; i++) expect(pk[i]!.sequenceNumber).toBe((pk[i - 1]!.sequenceNumber + 1) & 0xffff);
    const dtmf = pk.filter((p) => p.payloadType === 101);
    expect(new Set(dtmf.map((p) => p.timestamp)).size).toBe(1);
    expect(tsDiff(dtmf[0]!.timestamp, pk[1]!.timestamp)).toBe(160);
    expect(dtmf.map((p) => p.marker)).toEqual([true, false, false, false, false]);
    expect(dtmf.map((p) => parseTelephoneEvent(p.payload)?.duration)).toEqual([160, 320, 480, 480, 480]);
    expect(dtmf.map((p) => parseTelephoneEvent(p.payload)?.end)).toEqual([false, false, true, true, true]);
    // audio resumes where it stopped in the queue, on the slot clock, as a new talk spurt
    expect(pk[7]!.payload[0]).toBe(2);
    expect(pk[7]!.marker).toBe(true);
    expect(tsDiff(pk[7]!.timestamp, pk[1]!.timestamp)).toBe(6 * 160);
    expect(s.stats().sent.dtmfPackets).toBe(5);
  });

  it('delivers DTMF from one session to the other exactly once per digit', async () => {
    const pacer = new Pacer({ maxBurst: 50 }); // real time: a loaded machine must not make it skip slots
    cleanups.push(() => pacer.close());
    const events: DtmfEvent[] = [];
    const b = await session({ pacer, onDtmf: (e) => events.push(e) });
    const a = await session({ pacer, remote: { address: LO, port: b.port } });
    a.sendDtmf('1#', 80);
    await waitFor(() => events.length === 4);
    expect(events.map((e) => `${e.type}:${e.digit}`)).toEqual(['digit-start:1', 'digit-end:1', 'digit-start:#', 'digit-end:#']);
    expect(events.filter((e) => e.type === 'digit-end').every((e) => e.type === 'digit-end' && e.durationMs === 80)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toHaveLength(4);
  });

  it('latches to the source of the first valid RTP from a new address (symmetric RTP), not to STUN or garbage', async () => {
    const { clock, pacer } = fakePacer();
    const sdpAddr = await sink(); // where SDP said to send
    const peer = await sink(); // where the peer really sends from (NAT)
    const stranger = await sink();
    const latched: Array<{ address: string; port: number }> = [];
    const s = await session({ pacer, remote: { address: LO, port: sdpAddr.port }, onLatch: (r) => latched.push(r) });
    s.enqueue(frame(1));
    clock.advance(20);
    await waitFor(() => sdpAddr.packets.length === 1);

    const stun = Uint8Array.from(Buffer.from('000100002112a442000102030405060708090a0b', 'hex'));
    await stranger.send(stun, s.port);
    await stranger.send(Uint8Array.from([0x80, 0, 1]), s.port); // too short for RTP
    await peer.send(serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 9, payload: frame(0) }), s.port);
    await waitFor(() => s.stats().received.packets === 1);
    expect(s.stats().ignored).toMatchObject({ stun: 1, invalid: 1 });
    expect(latched).toEqual([{ address: LO, port: peer.port }]);
    expect(s.remote).toEqual({ address: LO, port: peer.port });

    s.enqueue(frame(2));
    clock.advance(20);
    await waitFor(() => peer.packets.length === 1);
    expect(peer.packets[0]!.pkt.payload[0]).toBe(2);
    expect(sdpAddr.packets).toHaveLength(1);
    expect(stranger.packets).toHaveLength(0);
    expect(s.stats().latches).toBe(1);
  });

  it('stays latched while the peer is active: a stray or alternating source is refused, counted, not delivered', async () => {
    const { clock, pacer } = fakePacer();
    const peer = await sink();
    const stranger = await sink();
    const got: Array<{ seq: number; port: number }> = [];
    const latched: Array<{ address: string; port: number }> = [];
    const dtmf: DtmfEvent[] = [];
    const s = await session({
      pacer,
      remote: { address: LO, port: peer.port },
      onPacket: (p, from) => got.push({ seq: p.sequenceNumber, port: from.port }),
      onLatch: (r) => latched.push(r),
      onDtmf: (e) => dtmf.push(e),
    });
    const rtp = (seq: number, pt = 0, payload = frame(0)): Uint8Array =>
      serializeRtp({ payloadType: pt, sequenceNumber: seq, timestamp: seq * 160, ssrc: 77, payload });
    await peer.send(rtp(1), s.port);
    await waitFor(() => got.length === 1);
    clock.advance(20);
    // one stray audio packet and one stray DTMF start from a third port while the peer is active
    await stranger.send(rtp(500), s.port);
    await stranger.send(rtp(501, 101, Uint8Array.from([5, 10, 0, 160])), s.port);
    await waitFor(() => s.stats().ignored.foreignSource === 2);
    expect(got).toEqual([{ seq: 1, port: peer.port }]);
    expect(dtmf).toHaveLength(0);
    expect(s.remote).toEqual({ address: LO, port: peer.port });
    expect(latched).toHaveLength(0); // the first source was the SDP address itself: locked, no move
    expect(s.stats().received.packets).toBe(1);

    // two sources alternating: no flip-flop, the stranger never gets the outbound audio
    for (let i = 0; i < 4; i++) {
      await peer.send(rtp(2 + i), s.port);
      await stranger.send(rtp(502 + i), s.port);
      clock.advance(20);
    }
    await waitFor(() => s.stats().ignored.foreignSource === 6 && got.length === 5);
    expect(got.every((g) => g.port === peer.port)).toBe(true);
    s.enqueue(frame(9));
    clock.advance(20);
    await waitFor(() => peer.packets.length === 1);
    expect(peer.packets[0]!.pkt.payload[0]).toBe(9);
    expect(stranger.packets).toHaveLength(0);
    expect(s.stats().latches).toBe(0);
    expect(s.remote).toEqual({ address: LO, port: peer.port });
  });

  it.each([
    { relatchAfterMs: undefined, windowMs: 1000 },
    { relatchAfterMs: 200, windowMs: 200 },
  ])('re-latches to a new source only after the latched one was silent for relatchAfterMs ($windowMs ms)', async ({ relatchAfterMs, windowMs }) => {
    const { clock, pacer } = fakePacer();
    const got: number[] = [];
    const latched: number[] = [];
    const s = await session({
      pacer,
      ...(relatchAfterMs !== undefined ? { relatchAfterMs } : {}),
      onPacket: (_p, from) => got.push(from.port),
      onLatch: (r) => latched.push(r.port),
    });
    const pkt = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 5, payload: frame(0) });
    const A = { address: LO, port: 40000 };
    const B = { address: LO, port: 40002 };
    s.handleDatagram(pkt, A);
    expect(s.remote).toEqual(A);
    clock.advance(100);
    s.handleDatagram(pkt, A); // A last heard at 100 ms
    clock.advance(windowMs - 1);
    s.handleDatagram(pkt, B); // A silent for windowMs - 1: refused
    expect(s.remote).toEqual(A);
    expect(s.stats().ignored.foreignSource).toBe(1);
    clock.advance(2);
    s.handleDatagram(pkt, B); // A silent for windowMs + 1: B is latched
    expect(s.remote).toEqual(B);
    s.handleDatagram(pkt, A); // and now A is the stranger
    expect(got).toEqual([A.port, A.port, B.port]);
    expect(latched).toEqual([A.port, B.port]);
    expect(s.stats().latches).toBe(2);
    expect(s.stats().ignored.foreignSource).toBe(2);
    expect(s.stats().received.packets).toBe(3);
  });

  it('re-opens learning on setRemote (new SDP): the first source after it is latched, the old one refused', async () => {
    const { clock, pacer } = fakePacer();
    const got: number[] = [];
    const latched: number[] = [];
    const s = await session({ pacer, onPacket: (_p, from) => got.push(from.port), onLatch: (r) => latched.push(r.port) });
    const pkt = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 5, payload: frame(0) });
    const A = { address: LO, port: 40000 };
    const B = { address: LO, port: 40002 };
    const C = { address: LO, port: 40004 };
    s.handleDatagram(pkt, A);
    clock.advance(20);
    s.setRemote(C.address, C.port); // re-INVITE: A was active 20 ms ago, yet learning starts over
    expect(s.remote).toEqual(C);
    s.handleDatagram(pkt, B);
    expect(s.remote).toEqual(B);
    s.handleDatagram(pkt, A);
    expect(s.remote).toEqual(B);
    // a new SDP whose address is where the peer sends from: locks there without a latch event
    s.setRemote(A.address, A.port);
    s.handleDatagram(pkt, A);
    s.handleDatagram(pkt, B);
    expect(s.remote).toEqual(A);
    expect(got).toEqual([A.port, B.port, A.port]);
    expect(latched).toEqual([A.port, B.port]);
    expect(s.stats().ignored.foreignSource).toBe(2);
  });

  it('without symmetric RTP accepts every source and never moves the SDP destination', async () => {
    const { pacer } = fakePacer();
    const got: number[] = [];
    const s = await session({ pacer, symmetric: false, remote: { address: LO, port: 40010 }, onPacket: (_p, f) => got.push(f.port) });
    const pkt = serializeRtp({ payloadType: 0, sequenceNumber: 1, timestamp: 0, ssrc: 5, payload: frame(0) });
    for (const port of [40000, 40002, 40000]) s.handleDatagram(pkt, { address: LO, port });
    expect(got).toEqual([40000, 40002, 40000]);
    expect(s.remote).toEqual({ address: LO, port: 40010 });
    expect(s.stats()).toMatchObject({ latches: 0, ignored: { foreignSource: 0 } });
  });

  it('rejects a negative or NaN relatchAfterMs', async () => {
    const { pacer } = fakePacer();
    for (const relatchAfterMs of [-1, Number.NaN]) {
      const err = await RtpSession.open({ pacer, bindAddress: LO, port: 0, codec: PCMU, relatchAfterMs }).catch((e: unknown) => e);
      expect(isCallroomError(err)).toBe(true);
    }
  });

  it('ignores a STUN binding request: no packet callback, no latch, a counter', async () => {
    const { pacer } = fakePacer();
    const k = await sink();
    const got: RtpPacket[] = [];
    const s = await session({ pacer, onPacket: (p) => got.push(p) });
    const stun = Uint8Array.from(Buffer.from('000100002112a442000102030405060708090a0b', 'hex'));
    await k.send(stun, s.port);
    await waitFor(() => s.stats().ignored.stun === 1);
    expect(got).toHaveLength(0);
    expect(s.remote).toBeNull();
    expect(s.stats().latches).toBe(0);
  });

  it('switches payload type and ptime mid-call without breaking seq or ts', async () => {
    const { clock, pacer } = fakePacer();
    const k = await sink();
    const s = await session({ pacer, remote: { address: LO, port: k.port } });
    for (let i = 0; i < 10; i++) s.enqueue(frame(i));
    clock.advance(40);
    s.setCodec({ payloadType: 8, clockRate: 8000, ptimeMs: 30 });
    clock.advance(90);
    await waitFor(() => k.packets.length === 5);
    const pk = k.packets.map((x) => x.pkt);
    expect(pk.map((p) => p.payloadType)).toEqual([0, 0, 8, 8, 8]);
    expect(pk.slice(1).map((p, i) => tsDiff(p.timestamp, pk[i]!.timestamp))).toEqual([160, 160, 240, 240]);
    expect(pk.slice(1).map((p, i) => (p.sequenceNumber - pk[i]!.sequenceNumber) & 0xffff)).toEqual([1, 1, 1, 1]);
  });

  it('never throws on hostile datagrams fed to the receive path, and still works after (property)', async () => {
    const { clock, pacer } = fakePacer();
    const got: RtpPacket[] = [];
    const s = await session({ pacer, onPacket: (p) => got.push(p) });
    const valid = serializeRtp({ payloadType: 0, sequenceNumber: 5, timestamp: 5, ssrc: 5, payload: frame(1) });
    const datagram = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat({ max: valid.length }).map((n) => valid.subarray(0, n)),
      fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
        const b = Uint8Array.from(valid);
        b[i] = v;
        return b;
      }),
    );
    let n = 0;
    fc.assert(
      fc.property(datagram, fc.integer({ min: 1, max: 65535 }), (buf, port) => {
        n++;
        s.handleDatagram(buf, { address: LO, port });
      }),
      { numRuns: 3000 },
    );
    const st = s.stats();
    // every datagram is counted exactly once; valid RTP from other ports than the first one latched is refused
    expect(
      st.received.packets + st.ignored.stun + st.ignored.rtcp + st.ignored.dtls + st.ignored.invalid + st.ignored.foreignSource,
    ).toBe(n);
    expect(st.errors.receive).toBe(0);
    // a handler that throws is contained too
    const t = await session({ pacer, onPacket: () => { throw new Error('consumer bug'); } });
    t.handleDatagram(valid, { address: LO, port: 4000 });
    expect(t.stats().errors.receive).toBe(1);
    // and the real socket path still delivers after a burst of garbage (once the fuzzed source that was latched
    // has been silent long enough for a new one to be learned)
    clock.advance(1000);
    const k = await sink();
    const before = got.length;
    // garbage that cannot be RTP (first octet outside 128..191), of every length up to 50
    for (let i = 0; i < 50; i++) await k.send(Uint8Array.from({ length: i }, (_, j) => (j === 0 ? 0xff : (i * 31 + j * 7) & 0xff)), s.port);
    await k.send(valid, s.port);
    await waitFor(() => got.length === before + 1);
  });

  it('takes even ports from the allocator, fails cleanly when exhausted, and releases on close', async () => {
    const { pacer } = fakePacer();
    const ports = new PortAllocator({ min: 41000, max: 41999 });
    const a = await session({ pacer, ports, port: undefined });
    const b = await session({ pacer, ports, port: undefined });
    expect(a.port % 2).toBe(0);
    expect(b.port % 2).toBe(0);
    expect(a.port).not.toBe(b.port);
    expect(ports.inUse).toBe(2);
    expect(pacer.size).toBe(2);
    await a.close();
    await a.close();
    expect(ports.isAllocated(a.port)).toBe(false);
    expect(pacer.size).toBe(1);
    expect(ports.inUse).toBe(1);

    const one = new PortAllocator({ min: b.port, max: b.port + 1 }); // only b's port, which is bound
    const err = await RtpSession.open({ pacer, ports: one, bindAddress: LO, codec: PCMU }).catch((e: unknown) => e);
    expect(isCallroomError(err)).toBe(true);
    expect(one.inUse).toBe(0); // the port that failed to bind went back
    one.allocate();
    const exhausted = await RtpSession.open({ pacer, ports: one, bindAddress: LO, codec: PCMU }).catch((e: unknown) => e);
    expect(exhausted).toBeInstanceOf(PortsExhaustedError);
  });

  it('leaves no socket or pacer timer behind after close', async () => {
    const udp = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    await new Promise((r) => setTimeout(r, 20));
    const before = udp();
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock });
    const ss = await Promise.all(Array.from({ length: 20 }, () => RtpSession.open({ pacer, bindAddress: LO, port: 0, codec: PCMU })));
    expect(udp()).toBe(before + 20);
    expect(clock.pending).toBe(1);
    await Promise.all(ss.map((x) => x.close()));
    await new Promise((r) => setTimeout(r, 20)); // libuv frees the handles a loop turn after 'close'
    expect(udp()).toBe(before);
    expect(pacer.size).toBe(0);
    expect(clock.pending).toBe(0);
    pacer.close();
  });

  it('rejects a remote of the wrong family or a bad port, and DTMF without a payload type', async () => {
    const { pacer } = fakePacer();
    const s = await session({ pacer, telephoneEvent: null });
    expect(() => s.setRemote('::1', 5000)).toThrow(/family/);
    expect(() => s.setRemote('not-an-ip', 5000)).toThrow();
    expect(() => s.setRemote(LO, 0)).toThrow();
    expect(() => s.sendDtmf('1')).toThrow(/telephone-event/);
  });
});
