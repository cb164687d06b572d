import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { mulawEncode } from '../../../src/media/g711.ts';
import type { AudioFrame } from '../../../src/core/audio-frame.ts';
import { Pacer } from '../../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../../src/media/rtp/port-allocator.ts';
import type { DtmfEvent } from '../../../src/media/rtp/dtmf-4733.ts';
import type { NegotiatedAudio } from '../../../src/sip/sdp/negotiate.ts';
import { RtpAudioLeg } from '../../../src/transports/sip/rtp-audio-leg.ts';

const legs: RtpAudioLeg[] = [];
let pacer: Pacer | undefined;

afterEach(async () => {
  for (const l of legs.splice(0)) await l.close();
  pacer?.close();
  pacer = undefined;
});

async function pair(codec: NegotiatedAudio['codec'], pt: number): Promise<[RtpAudioLeg, RtpAudioLeg]> {
  pacer = new Pacer();
  const ports = new PortAllocator({ min: 41000 + Math.floor(Math.random() * 200) * 10, max: 49990 });
  const opts = { pacer, ports, bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1', jitterMs: 40 };
  const a = await RtpAudioLeg.open(opts);
  const b = await RtpAudioLeg.open(opts);
  legs.push(a, b);
  const base = { codec, payloadType: pt, dtmfPayloadType: 101, ptime: 20, remoteAddress: '127.0.0.1', direction: 'sendrecv' as const };
  a.configure({ ...base, remotePort: b.port });
  b.configure({ ...base, remotePort: a.port });
  return [a, b];
}

function tone(rate: number, ms: number, hz: number, startMs: number): AudioFrame {
  const n = (rate * ms) / 1000;
  const s = new Int16Array(n);
  const t0 = (startMs * rate) / 1000;
  for (let i = 0; i < n; i++) s[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * (t0 + i)) / rate));
  return { samples: s, sampleRate: rate, timestamp: startMs };
}

function rms(x: Int16Array): number {
  let e = 0;
  for (const v of x) e += v * v;
  return Math.sqrt(e / Math.max(1, x.length));
}

/** Send `count` 20 ms frames in real time from `a`; collect what `b` plays out. */
async function stream(a: RtpAudioLeg, b: RtpAudioLeg, rate: number, count: number, hz: number): Promise<Int16Array> {
  const got: Int16Array[] = [];
  b.setSinks({ onAudio: (f) => got.push(f.samples) });
  for (let i = 0; i < count; i++) {
    await a.write(tone(rate, 20, hz, i * 20));
  }
  await new Promise((r) => setTimeout(r, count * 20 + 400));
  const all = new Int16Array(got.reduce((n, g) => n + g.length, 0));
  let o = 0;
  for (const g of got) {
    all.set(g, o);
    o += g.length;
  }
  return all;
}

describe('RtpAudioLeg over loopback', () => {
  for (const [codec, pt, rate] of [
    ['PCMU', 0, 8000],
    ['PCMA', 8, 8000],
    ['G722', 9, 16000],
  ] as const) {
    it(`carries a tone with ${codec} at ${rate} Hz`, async () => {
      const [a, b] = await pair(codec, pt);
      expect(a.sampleRate).toBe(rate);
      const got = await stream(a, b, rate, 25, 440);
      // 25 packets of 20 ms arrive as ~25 frames at the codec rate (concealment may add a few at the end).
      expect(got.length).toBeGreaterThanOrEqual(25 * (rate / 50));
      const level = rms(got.subarray(0, 20 * (rate / 50)));
      expect(level).toBeGreaterThan(8000 / Math.SQRT2 * 0.8);
      expect(level).toBeLessThan(8000 / Math.SQRT2 * 1.2);
      expect(b.stats().received.packets).toBe(25);
      expect(a.stats().sent.packets).toBe(25);
    });
  }

  it('resamples 24 kHz TTS audio to the codec rate', async () => {
    const [a, b] = await pair('PCMU', 0);
    const got = await stream(a, b, 24000, 15, 300);
    // 15 frames of 480 samples at 24 kHz become 14-15 packets of 160 samples at 8 kHz (filter delay).
    expect(a.stats().sent.packets).toBeGreaterThanOrEqual(14);
    expect(rms(got.subarray(320, 1600))).toBeGreaterThan(4000);
  });

  it('sends and receives RFC 4733 digits', async () => {
    const [a, b] = await pair('PCMU', 0);
    const events: DtmfEvent[] = [];
    b.setSinks({ onDtmf: (e) => events.push(e) });
    a.sendDtmf('5#', 100);
    await new Promise((r) => setTimeout(r, 700));
    const ends = events.filter((e) => e.type === 'digit-end').map((e) => e.digit);
    expect(ends).toEqual(['5', '#']);
  });

  it('stops sending on hold (recvonly) and drops queued audio', async () => {
    const [a] = await pair('PCMU', 0);
    for (let i = 0; i < 10; i++) a.sendFrame(tone(8000, 20, 440, i * 20));
    a.configure({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, ptime: 20, remoteAddress: '127.0.0.1', remotePort: 9, direction: 'recvonly' });
    expect(a.sendFrame(tone(8000, 20, 440, 0))).toBe(false);
    const before = a.stats().sent.packets;
    await new Promise((r) => setTimeout(r, 200));
    expect(a.stats().sent.packets).toBe(before);
    expect(a.stats().queue.size).toBe(0);
  });

  it('clearOutput empties the send queue (barge-in)', async () => {
    const [a] = await pair('PCMU', 0);
    for (let i = 0; i < 30; i++) a.sendFrame(tone(8000, 20, 440, i * 20));
    const dropped = a.clearOutput();
    expect(dropped.packets).toBeGreaterThan(20);
    expect(dropped.droppedMs).toBe(dropped.packets * 20);
    expect(a.stats().queue.size).toBe(0);
  });
});

describe('RtpAudioLeg receive backlog', () => {
  for (const agentSpeaking of [false, true]) {
    const name = agentSpeaking
      ? 'keeps a backlog while it is sending audio itself (its echo must keep its delay)'
      : 'drains a backlog left by a burst during the next pause: later speech is not heard later, and no speech is skipped';
    it(name, async () => {
      pacer = new Pacer();
      const ports = new PortAllocator({ min: 41000 + Math.floor(Math.random() * 200) * 10, max: 49990 });
      const leg = await RtpAudioLeg.open({ pacer, ports, bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1', jitterMs: 60 });
      legs.push(leg);
      const sender = createSocket('udp4');
      await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
      try {
        const senderPort = (sender.address() as { port: number }).port;
        leg.configure({ codec: 'PCMU', payloadType: 0, ptime: 20, remoteAddress: '127.0.0.1', remotePort: senderPort, direction: 'sendrecv', dtmfPayloadType: undefined });
        // Packet i carries one mu-law code in every byte: loud codes 0x00..0x3f number the speech packets, 0xff is silence.
        const CODE_OF_SILENCE = 0xff;
        const played: Array<{ code: number; at: number }> = [];
        leg.setSinks({ onAudio: (f) => played.push({ code: mulawEncode(f.samples.subarray(0, 1))[0] as number, at: performance.now() }) });
        // Nothing is drained until we have sent no audio for a second (our echo may be on its way back).
        if (agentSpeaking) void leg.write(tone(8000, 3000, 440, 0));
        await new Promise((r) => setTimeout(r, 1100));
        const sentAt = new Map<number, number>();
        const send = (seq: number, code: number): void => {
          const pkt = Buffer.alloc(12 + 160, code);
          pkt[0] = 0x80;
          pkt[1] = 0;
          pkt.writeUInt16BE(seq, 2);
          pkt.writeUInt32BE(seq * 160, 4);
          pkt.writeUInt32BE(0x1234abcd, 8);
          if (code !== CODE_OF_SILENCE) sentAt.set(code, performance.now());
          sender.send(pkt, leg.port, '127.0.0.1');
        };
        // Speech: packets 0-19 in real time, then 8 more at once (a burst after a stall upstream: 160 ms early),
        // then 600 ms of silence in real time, then speech again, 20 packets.
        const codeOf = (seq: number): number => (seq < 28 ? seq : seq >= 58 ? seq - 58 + 0x20 : CODE_OF_SILENCE);
        const start = performance.now();
        let seq = 0;
        while (seq < 78) {
          if (seq === 20) for (; seq < 28; seq++) send(seq, codeOf(seq));
          send(seq, codeOf(seq));
          seq++;
          await new Promise((r) => setTimeout(r, Math.max(0, start + (seq - (seq > 20 ? 8 : 0)) * 20 - performance.now())));
        }
        await new Promise((r) => setTimeout(r, 500));
        const speech = played.filter((p) => p.code !== CODE_OF_SILENCE && p.code < 0x40);
        // Every speech packet was heard, once, in order (after the stream stops, the concealer repeats the last one, fading).
        expect(speech.map((p) => p.code).slice(0, 48)).toEqual([...Array.from({ length: 28 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 0x20 + i)]);
        const latency = (codes: number[]) => codes.map((c) => (speech.find((p) => p.code === c)?.at ?? NaN) - (sentAt.get(c) ?? NaN));
        const before = Math.max(...latency([5, 10, 15]));
        const after = Math.max(...latency([0x25, 0x2a, 0x2f]));
        if (agentSpeaking) {
          expect(leg.mediaCounters().drained).toBe(0);
          expect(after - before).toBeGreaterThan(120);
        } else {
          // The burst's 160 ms were drained in the pause: the later speech comes within a slot or two of the first's
          // latency (here +20 ms; without the drain it is +160 ms for the rest of the call).
          expect(after - before).toBeLessThan(45);
          expect(leg.mediaCounters().drained).toBeGreaterThanOrEqual(6);
        }
      } finally {
        sender.close();
      }
    });
  }
});
