import { afterEach, describe, expect, it } from 'vitest';
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
