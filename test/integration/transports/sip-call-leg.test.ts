import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import type { AudioFrame } from '../../../src/core/audio-frame.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { Pacer } from '../../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../../src/media/rtp/port-allocator.ts';
import { createSipUserAgent, type SipCall, type SipUserAgent } from '../../../src/sip/user-agent/index.ts';
import { RtpMediaFactory } from '../../../src/transports/sip/rtp-media-factory.ts';
import type { CallDtmf } from '../../../src/call/call-leg.ts';
import { RtpAudioLeg } from '../../../src/transports/sip/rtp-audio-leg.ts';
import { SipCallLeg } from '../../../src/transports/sip/sip-call-leg.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function gateway(portBase: number, codecs: Array<'G722' | 'PCMU' | 'PCMA'>): Promise<{ ua: SipUserAgent; media: RtpMediaFactory; port: number }> {
  const config = validateConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], codecs, trunks: [{ name: 'lo', cidrs: ['127.0.0.0/8'] }], ringing: false },
  });
  const pacer = new Pacer();
  const media = new RtpMediaFactory({
    pacer,
    ports: new PortAllocator({ min: portBase, max: portBase + 99 }),
    bindAddress: '127.0.0.1',
    advertiseAddress: '127.0.0.1',
    jitterMs: 40,
  });
  const ua = await createSipUserAgent({ config: config.sip, media, logger: silentLogger() });
  cleanup.push(() => pacer.close(), () => ua.close());
  const port = ua.endpoints()[0]?.bound.port ?? 0;
  return { ua, media, port };
}

function tone(rate: number, n: number, start: number): AudioFrame {
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(6000 * Math.sin((2 * Math.PI * 500 * (start + i)) / rate));
  return { samples: s, sampleRate: rate, timestamp: (start * 1000) / rate };
}

describe('SipCallLeg between two Callroom user agents', () => {
  for (const codec of ['PCMU', 'G722'] as const) {
    it(`carries audio, RFC 4733 and INFO DTMF, and BYE (${codec})`, async () => {
      const base = 43000 + Math.floor(Math.random() * 60) * 100;
      const callee = await gateway(base, [codec]);
      const caller = await gateway(base + 5000, ['G722', 'PCMU']);

      const answered = new Promise<SipCallLeg>((resolve) => {
        callee.ua.onCall((call: SipCall) => {
          const leg = new SipCallLeg(call, call.media as RtpAudioLeg);
          void leg.answer().then(() => resolve(leg));
        });
      });
      const out = await caller.ua.dial({ target: `sip:agent@127.0.0.1:${callee.port}` });
      const calleeLeg = await answered;
      const callerLeg = new SipCallLeg(out, out.media as RtpAudioLeg);
      const rate = codec === 'G722' ? 16000 : 8000;
      expect(calleeLeg.sampleRate).toBe(rate);
      expect(callerLeg.sampleRate).toBe(rate);

      let energy = 0;
      let frames = 0;
      calleeLeg.onFrame((f) => {
        frames++;
        for (const v of f.samples) energy += v * v;
      });
      const digits: CallDtmf[] = [];
      callerLeg.onDtmf((d) => digits.push(d));
      calleeLeg.onDtmf((d) => digits.push(d));

      // Caller sends 0.5 s at 24 kHz (resampled to the codec rate); callee answers with RFC 4733 digits.
      for (let i = 0; i < 25; i++) await callerLeg.write(tone(24000, 480, i * 480));
      await calleeLeg.sendDtmf('47', 80);
      await out.sendInfoDtmf('9');
      await new Promise((r) => setTimeout(r, 900));

      expect(frames).toBeGreaterThanOrEqual(20);
      const rms = Math.sqrt(energy / (frames * (rate / 50)));
      expect(rms).toBeGreaterThan(2000);
      expect(digits.filter((d) => d.source === 'rfc4733').map((d) => d.digit)).toEqual(['4', '7']);
      expect(digits.filter((d) => d.source === 'info').map((d) => d.digit)).toEqual(['9']);

      await callerLeg.hangup();
      expect((await calleeLeg.ended).reason).toBe('remote-hangup');
      expect(callee.media.open).toBe(0);
    });
  }

  it('passes G.711 bytes through untouched both ways, and reports output positions, drain and barge-in drops', async () => {
    const base = 43000 + Math.floor(Math.random() * 60) * 100;
    const callee = await gateway(base, ['PCMU']);
    const caller = await gateway(base + 5000, ['PCMU']);
    const answered = new Promise<SipCallLeg>((resolve) => {
      callee.ua.onCall((call: SipCall) => {
        const leg = new SipCallLeg(call, call.media as RtpAudioLeg);
        void leg.answer().then(() => resolve(leg));
      });
    });
    const out = await caller.ua.dial({ target: `sip:agent@127.0.0.1:${callee.port}` });
    const calleeLeg = await answered;
    const callerLeg = new SipCallLeg(out, out.media as RtpAudioLeg);
    expect(calleeLeg.inputFormat).toEqual({ sampleRate: 8000, encoding: 'mulaw' });

    const got: number[] = [];
    calleeLeg.onEncoded((bytes, encoding) => {
      expect(encoding).toBe('mulaw');
      for (const b of bytes) if (b !== 0xff) got.push(b);
    });
    // 0.4 s of mu-law code words that are never silence (0xff), written in odd-sized pieces.
    const sent = Uint8Array.from({ length: 3250 }, (_, i) => (i * 7) % 255);
    for (let at = 0; at < sent.length; at += 333) await callerLeg.writeEncoded(sent.subarray(at, at + 333), 'mulaw');
    const t0 = performance.now();
    await callerLeg.drained();
    // 3,250 bytes padded to 3,360 (21 packets): about 420 ms minus what the 1 s queue had already sent.
    expect(performance.now() - t0).toBeLessThan(1500);
    const pos = callerLeg.outputPosition();
    expect(pos.writtenMs).toBeCloseTo(420, 0);
    expect(pos.playedMs).toBeCloseTo(420, 0);
    await new Promise((r) => setTimeout(r, 300));
    // Every byte arrives unchanged and in order; after the stream stops the receiver conceals (fading repeats).
    expect(Uint8Array.from(got.slice(0, sent.length))).toEqual(sent);

    // Barge-in: a second of audio queued, half played, then dropped; the position says what went out.
    for (let i = 0; i < 50; i++) callerLeg.sendFrame({ samples: new Int16Array(160).fill(1000), sampleRate: 8000, timestamp: 0 });
    await new Promise((r) => setTimeout(r, 500));
    const { droppedMs } = callerLeg.clearOutput();
    expect(droppedMs).toBeGreaterThan(300);
    expect(droppedMs).toBeLessThan(700);
    const after = callerLeg.outputPosition();
    expect(after.writtenMs).toBeCloseTo(after.playedMs, -1);
    expect(after.writtenMs).toBeCloseTo(420 + 1000 - droppedMs, 0);
    await callerLeg.hangup();
    expect((await calleeLeg.ended).reason).toBe('remote-hangup');
  });
});
