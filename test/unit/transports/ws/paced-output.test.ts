import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { Pacer } from '../../../../src/media/rtp/pacer.ts';
import { PacedOutput } from '../../../../src/transports/ws/paced-output.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/**
 * A started output on a fake clock, moved to the first instant half a slot after a pacer slot (where a
 * spurt's real time starts: slots at 1005, 1025, ...; origins at 1015, 1035, ...), so a write there gets
 * the full lead at once and then one frame per slot.
 */
function setup(options: { rate?: number; bufferMs?: number; leadMs?: number; accept?: () => boolean; start?: boolean } = {}) {
  const clock = new FakeClock(1000);
  const pacer = new Pacer({ clock });
  const sent: Array<{ at: number; bytes: number }> = [];
  const rate = options.rate ?? 16000;
  const out = new PacedOutput({
    sampleRate: rate,
    bufferMs: options.bufferMs ?? 1000,
    leadMs: options.leadMs ?? 60,
    pacer,
    transmit: (frame) => {
      if (options.accept !== undefined && !options.accept()) return false;
      sent.push({ at: clock.now(), bytes: frame.byteLength });
      return true;
    },
  });
  closers.push(() => out.stop(), () => pacer.close());
  const begin = () => {
    out.start();
    clock.advance(15);
  };
  if (options.start !== false) begin();
  const sentMs = () => sent.reduce((n, s) => n + (s.bytes * 500) / rate, 0);
  return { clock, pacer, out, sent, sentMs, rate, begin };
}

const pcm = (rate: number, ms: number, value = 1000) => ({ samples: new Int16Array((rate * ms) / 1000).fill(value), sampleRate: rate, timestamp: 0 });
const tick = () => new Promise((r) => setImmediate(r));

describe('PacedOutput', () => {
  it('releases a long write at real-time pace, never more than the lead ahead, and write waits while the buffer is full', async () => {
    const { clock, out, sent, sentMs } = setup({ bufferMs: 300, leadMs: 60 });
    let done = false;
    const writing = out.write(pcm(16000, 1000)).then(() => (done = true));
    await tick();
    // The lead goes at once: 3 frames of 20 ms.
    expect(sentMs()).toBe(60);
    const start = sent[0]?.at ?? 0;
    let maxAhead = 0;
    for (let t = 0; t < 1200; t += 5) {
      clock.advance(5);
      await tick();
      const elapsed = clock.now() - start;
      maxAhead = Math.max(maxAhead, sentMs() - elapsed);
      if (elapsed < 600) expect(done).toBe(false);
    }
    await writing;
    expect(sentMs()).toBe(1000);
    expect(maxAhead).toBeLessThanOrEqual(60);
    // Everything went out by about 1 s minus the lead, not in a dump.
    const last = sent.at(-1)?.at ?? 0;
    expect(last - start).toBeGreaterThanOrEqual(1000 - 60 - 20);
    expect(last - start).toBeLessThanOrEqual(1000 - 60 + 10);
  });

  it('sends one frame per slot even when slots fire a few milliseconds early or late', async () => {
    const { clock, out, sent } = setup({ leadMs: 60, bufferMs: 2000 });
    // A spurt that starts exactly on a slot (1025): its real time counts from half a slot later.
    clock.advance(10);
    void out.write(pcm(16000, 1000));
    await tick();
    expect(sent).toHaveLength(2);
    // Slots are due at 1045, 1065, ...; deliver them with up to 8 ms of lateness or earliness.
    const jitter = [8, -8, 0, 5, -3, 8, -8, 1];
    for (let k = 0; k < 40; k++) {
      const due = 1045 + 20 * k;
      const before = sent.length;
      out.onPace(k, due, due + (jitter[k % jitter.length] as number));
      expect(sent.length - before).toBe(1);
    }
    expect(clock.now()).toBe(1025);
  });

  it('counts audio as played when its real-time slot passes, not when it was sent ahead', async () => {
    const { clock, out } = setup({ leadMs: 100 });
    await out.write(pcm(16000, 400));
    expect(out.position()).toEqual({ writtenMs: 400, playedMs: 0 });
    clock.advance(50);
    expect(out.position().playedMs).toBe(50);
    clock.advance(400);
    expect(out.position()).toEqual({ writtenMs: 400, playedMs: 400 });
  });

  it('clear drops the queue and the part sent ahead, and says whether the client holds audio', async () => {
    const { clock, out, sentMs } = setup({ leadMs: 60 });
    expect(out.clear()).toEqual({ droppedMs: 0, clientHadAudio: false });
    void out.write(pcm(16000, 1000));
    await tick();
    clock.advance(200);
    await tick();
    const before = sentMs();
    const played = out.position().playedMs;
    expect(played).toBeCloseTo(200, 0);
    const { droppedMs, clientHadAudio } = out.clear();
    expect(clientHadAudio).toBe(true);
    expect(droppedMs).toBeCloseTo(1000 - played, 0);
    const after = out.position();
    expect(after.writtenMs).toBeCloseTo(after.playedMs, 6);
    // Nothing more goes out; a second clear has nothing to say.
    clock.advance(200);
    expect(sentMs()).toBe(before);
    expect(out.clear()).toEqual({ droppedMs: 0, clientHadAudio: false });
  });

  it('sendFrame never waits: it drops what does not fit', () => {
    const { out, begin } = setup({ bufferMs: 100, leadMs: 20, start: false });
    expect(out.sendFrame(pcm(16000, 20))).toBe(false);
    begin();
    // 20 ms sent at once (the lead), then 100 ms fit in the queue: the rest is dropped.
    expect(out.sendFrame(pcm(16000, 200))).toBe(false);
    expect(out.position().writtenMs).toBeCloseTo(120, 0);
    // One more frame fits in the frame being assembled; after that nothing does.
    expect(out.sendFrame(pcm(16000, 20))).toBe(true);
    expect(out.sendFrame(pcm(16000, 20))).toBe(false);
    expect(out.position().writtenMs).toBeCloseTo(140, 0);
  });

  it('drained resolves once everything written has played, including a partial frame', async () => {
    const { clock, out, sentMs } = setup();
    await out.write(pcm(16000, 130));
    let drained = false;
    const p = out.drained().then(() => (drained = true));
    await tick();
    expect(sentMs()).toBe(60);
    for (let i = 0; i < 25 && !drained; i++) {
      clock.advance(5);
      await tick();
    }
    expect(drained).toBe(false);
    clock.advance(100);
    await p;
    expect(sentMs()).toBe(130);
    expect(out.position()).toEqual({ writtenMs: 130, playedMs: 130 });
  });

  it('pause holds the queue and resume starts a new spurt without a burst', async () => {
    const { clock, out, sent, sentMs } = setup({ leadMs: 40 });
    void out.write(pcm(16000, 600));
    await tick();
    clock.advance(100);
    out.pause(true);
    const held = sentMs();
    clock.advance(500);
    await tick();
    expect(sentMs()).toBe(held);
    // The lead sent before the pause played out at the client.
    expect(out.position().playedMs).toBe(held);
    out.pause(false);
    const resumedAt = clock.now();
    expect(sentMs() - held).toBe(40);
    clock.advance(100);
    expect(sentMs() - held).toBeLessThanOrEqual(140);
    expect(sent.filter((s) => s.at === resumedAt)).toHaveLength(2);
  });

  it('rewind takes back what was sent ahead and not played; resumed, the client hears every frame once, in order', async () => {
    const clock = new FakeClock(1000);
    const pacer = new Pacer({ clock });
    // The client: frames arrive, play at real time from the first one of a spurt, and a flush drops the
    // ones not yet played. Each 20 ms frame (320 samples at 16 kHz) carries its number in every sample.
    const arrived: Array<{ n: number; at: number }> = [];
    const out = new PacedOutput({ sampleRate: 16000, bufferMs: 2000, leadMs: 100, pacer, transmit: (f) => arrived.push({ n: f.readInt16LE(0), at: clock.now() }) > 0 });
    closers.push(() => out.stop(), () => pacer.close());
    out.start();
    clock.advance(15);
    const numbered = new Int16Array(320 * 30).map((_, i) => Math.floor(i / 320));
    void out.write({ samples: numbered, sampleRate: 16000, timestamp: 0 });
    await tick();
    clock.advance(130);
    await tick();
    const playedBefore = out.position().playedMs;
    const sentBefore = arrived.length;
    // The 100 ms lead and about 130 ms of real time, a frame at a time.
    expect(sentBefore * 20).toBeGreaterThanOrEqual(playedBefore + 80);
    out.pause(true);
    const back = out.rewind();
    // The lead it holds and the frame playing now: sent minus what played, rounded down to whole frames played.
    expect(back).toBe(arrived.length * 20 - Math.floor(playedBefore / 20) * 20);
    expect(out.rewind()).toBe(0);
    // The client drops what it had not played: the frames from the one playing now on.
    const heard = arrived.slice(0, arrived.length - back / 20).map((a) => a.n);
    expect(out.position().playedMs).toBe(heard.length * 20);
    clock.advance(300);
    await tick();
    expect(arrived.length).toBe(sentBefore); // held while paused
    const resumedFrom = arrived.length;
    out.pause(false);
    clock.advance(1000);
    await tick();
    heard.push(...arrived.slice(resumedFrom).map((a) => a.n));
    expect(heard).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(out.position()).toEqual({ writtenMs: 600, playedMs: 600 });
  });

  it('rewind has nothing to take back before anything was sent, once it all played, or after a clear', async () => {
    const { clock, out } = setup({ leadMs: 60 });
    expect(out.rewind()).toBe(0);
    void out.write(pcm(16000, 200));
    await tick();
    clock.advance(400);
    await tick();
    expect(out.rewind()).toBe(0);
    void out.write(pcm(16000, 400));
    await tick();
    clock.advance(50);
    out.clear();
    expect(out.rewind()).toBe(0);
    expect(out.position().writtenMs).toBeCloseTo(out.position().playedMs, 6);
  });

  it('resamples to the client rate', async () => {
    const { out, sent } = setup({ rate: 24000 });
    await out.write(pcm(16000, 60));
    // 60 ms at 16 kHz -> 1,440 samples at 24 kHz: three 20 ms frames of 960 bytes.
    expect(sent.map((s) => s.bytes)).toEqual([960, 960, 960]);
  });

  it('a socket that cannot take a frame keeps it queued for the next slot', async () => {
    let open = false;
    const { clock, out, sentMs } = setup({ accept: () => open });
    await out.write(pcm(16000, 100));
    expect(sentMs()).toBe(0);
    open = true;
    clock.advance(20);
    expect(sentMs()).toBeGreaterThan(0);
    clock.advance(200);
    expect(sentMs()).toBe(100);
  });

  it('stop releases waiting writers and drainers', async () => {
    const { out } = setup({ bufferMs: 100 });
    const w = out.write(pcm(16000, 2000));
    const d = out.drained();
    out.stop();
    await expect(Promise.all([w, d])).resolves.toBeDefined();
    expect(out.sendFrame(pcm(16000, 20))).toBe(false);
  });
});
