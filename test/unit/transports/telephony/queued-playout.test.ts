import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { Pacer } from '../../../../src/media/rtp/pacer.ts';
import { QueuedPlayout } from '../../../../src/transports/telephony/queued-playout.ts';

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

type Sent = { at: number; kind: 'audio'; ms: number } | { at: number; kind: 'mark'; name: string };

/** A started playout with marks on a fake clock, recording what goes on the wire in order. */
function setup(o: { leadMs?: number; everyMs?: number; timeoutMs?: number; maxPending?: number; marks?: boolean; accept?: () => boolean } = {}) {
  const clock = new FakeClock(1000);
  const pacer = new Pacer({ clock });
  const wire: Sent[] = [];
  const out = new QueuedPlayout({
    sampleRate: 8000,
    bufferMs: 2000,
    leadMs: o.leadMs ?? 200,
    pacer,
    transmit: (frame) => {
      if (o.accept !== undefined && !o.accept()) return false;
      wire.push({ at: clock.now(), kind: 'audio', ms: frame.byteLength / 16 });
      return true;
    },
    ...(o.marks === false
      ? {}
      : { marks: { send: (name: string) => void wire.push({ at: clock.now(), kind: 'mark', name }), everyMs: o.everyMs ?? 100, timeoutMs: o.timeoutMs ?? 5000, maxPending: o.maxPending ?? 25 } }),
  });
  closers.push(() => out.stop(), () => pacer.close());
  out.start();
  clock.advance(15);
  const sentMs = () => wire.reduce((n, s) => n + (s.kind === 'audio' ? s.ms : 0), 0);
  const marks = () => wire.filter((s): s is Extract<Sent, { kind: 'mark' }> => s.kind === 'mark');
  /** Audio sent before mark `name` (what the platform must have played to report it). */
  const before = (name: string) => {
    let ms = 0;
    for (const s of wire) {
      if (s.kind === 'mark' && s.name === name) return ms;
      if (s.kind === 'audio') ms += s.ms;
    }
    throw new Error(`no mark ${name}`);
  };
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 5) {
      clock.advance(5);
      await new Promise((r) => setImmediate(r));
    }
  };
  return { clock, out, wire, sentMs, marks, before, run };
}

const pcm = (ms: number) => ({ samples: new Int16Array(8 * ms).fill(1000), sampleRate: 8000, timestamp: 0 });
const tick = () => new Promise((r) => setImmediate(r));

describe('QueuedPlayout', () => {
  it('sends a reply paced with the lead, marks every 100 ms of audio and after the last frame', async () => {
    const t = setup({ leadMs: 200 });
    const writing = t.out.write(pcm(1030));
    await tick();
    // The lead goes at once, never more.
    expect(t.sentMs()).toBe(200);
    const start = t.wire[0]?.at ?? 0;
    let maxAhead = 0;
    const draining = writing.then(() => t.out.drained());
    for (let i = 0; i < 300 && t.sentMs() < 1030; i++) {
      await t.run(5);
      maxAhead = Math.max(maxAhead, t.sentMs() - (t.clock.now() - start));
    }
    expect(maxAhead).toBeLessThanOrEqual(200);
    expect(t.sentMs()).toBe(1030);
    // A mark after every 100 ms sent, and one after the final 10 ms piece (drained asked for it).
    const positions = t.marks().map((m) => t.before(m.name));
    expect(positions.slice(0, 10)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(positions.at(-1)).toBe(1030);
    // Nothing acknowledged: the caller has heard nothing, whatever real time says.
    expect(t.out.position()).toEqual({ writtenMs: 1030, playedMs: 0 });
    let drained = false;
    void draining.then(() => (drained = true));
    await t.run(400);
    expect(drained).toBe(false);
    // Acknowledging the last mark acknowledges everything: drained resolves, played is all of it.
    expect(t.out.acknowledge(t.marks().at(-1)?.name ?? '')).toBe(true);
    await tick();
    expect(drained).toBe(true);
    expect(t.out.position()).toEqual({ writtenMs: 1030, playedMs: 1030 });
  });

  it('played moves by acknowledgements only, in order, and ignores unknown or repeated names', async () => {
    const t = setup({ leadMs: 200 });
    void t.out.write(pcm(600));
    await t.run(300);
    const [m1, m2, m3] = t.marks();
    expect(t.out.acknowledge(m2?.name ?? '')).toBe(true);
    expect(t.out.position().playedMs).toBe(200);
    // m1 was implied by m2; its late echo changes nothing.
    expect(t.out.acknowledge(m1?.name ?? '')).toBe(false);
    expect(t.out.acknowledge('cr-999')).toBe(false);
    expect(t.out.acknowledge(m3?.name ?? '')).toBe(true);
    expect(t.out.position().playedMs).toBe(300);
    expect(t.out.markStats()).toMatchObject({ marksAcked: 3, marksUnknown: 2 });
  });

  it('clear drops everything after the last acknowledged mark: dropped, the rolled-back timeline, and stale echoes', async () => {
    const t = setup({ leadMs: 200 });
    void t.out.write(pcm(2000));
    await t.run(400);
    const marks = t.marks();
    // The platform has played up to the second mark (200 ms); 600 ms were sent, 2000 written.
    t.out.acknowledge(marks[1]?.name ?? '');
    const before = t.out.position();
    expect(before).toEqual({ writtenMs: 2000, playedMs: 200 });
    const r = t.out.clear();
    expect(r).toEqual({ droppedMs: 1800, platformHadAudio: true });
    expect(t.out.position()).toEqual({ writtenMs: 200, playedMs: 200 });
    // Twilio echoes every pending mark on a clear: they were not played.
    for (const m of marks.slice(2)) expect(t.out.acknowledge(m.name)).toBe(false);
    expect(t.out.position().playedMs).toBe(200);
    // The next reply continues the timeline from what was heard.
    t.wire.length = 0;
    void t.out.write(pcm(300));
    await t.run(400);
    const next = t.marks();
    t.out.acknowledge(next.at(-1)?.name ?? '');
    expect(t.out.position()).toEqual({ writtenMs: 500, playedMs: 500 });
    // Everything acknowledged: nothing dropped, but audio went out since the last clear, so the flush still goes.
    expect(t.out.clear()).toEqual({ droppedMs: 0, platformHadAudio: true });
    // Nothing sent since: no flush.
    expect(t.out.clear()).toEqual({ droppedMs: 0, platformHadAudio: false });
  });

  it('a mark never acknowledged counts as played after its timeout, so drained cannot hang', async () => {
    const t = setup({ leadMs: 100, timeoutMs: 1000 });
    await t.out.write(pcm(300));
    let drained = false;
    void t.out.drained().then(() => (drained = true));
    // Audio plays out by ~300 ms; the last mark is due then and expires 1 s later.
    await t.run(1200);
    expect(drained).toBe(false);
    expect(t.out.position().playedMs).toBeLessThan(300);
    await t.run(300);
    expect(drained).toBe(true);
    expect(t.out.position().playedMs).toBe(300);
    expect(t.out.markStats().marksExpired).toBeGreaterThan(0);
  });

  it('keeps at most maxPending marks outstanding (jambonz keeps 30)', async () => {
    const t = setup({ leadMs: 200, everyMs: 20, maxPending: 4 });
    void t.out.write(pcm(1000));
    await t.run(500);
    expect(t.marks()).toHaveLength(4);
    t.out.acknowledge(t.marks()[3]?.name ?? '');
    await t.run(100);
    expect(t.marks().length).toBeGreaterThan(4);
  });

  it('pause holds what is not sent; the platform keeps what it has; resume goes on without a burst', async () => {
    const t = setup({ leadMs: 100 });
    void t.out.write(pcm(1000));
    await t.run(200);
    const sent = t.sentMs();
    t.out.pause(true);
    await t.run(500);
    expect(t.sentMs()).toBe(sent);
    t.out.pause(false);
    await tick();
    // A new spurt: at most the lead at once.
    expect(t.sentMs() - sent).toBeLessThanOrEqual(100);
  });

  it('rewind takes back the lead the platform holds: marks after it are forgotten, resumed audio is sent again, played stays true', async () => {
    const t = setup({ leadMs: 200, everyMs: 100 });
    void t.out.write(pcm(1000));
    await t.run(300);
    const marks = t.marks();
    // The platform played the first two marks (200 ms); about 500 ms were sent.
    t.out.acknowledge(marks[1]?.name ?? '');
    const sent = t.sentMs();
    t.out.pause(true);
    const back = t.out.rewind();
    expect(back).toBeGreaterThanOrEqual(180);
    expect(back).toBeLessThanOrEqual(220);
    // Marks past the rewound point were not played: a platform's echo of them on the flush is ignored.
    const kept = marks.filter((m) => t.before(m.name) <= sent - back);
    for (const m of marks.slice(2)) expect(t.out.acknowledge(m.name)).toBe(kept.includes(m) ? true : false);
    expect(t.out.position().playedMs).toBeLessThanOrEqual(sent - back);
    // Resumed: the rewound audio goes out again and everything written is sent; acknowledged, all of it played.
    t.out.pause(false);
    await t.run(1200);
    expect(t.sentMs()).toBe(1000 + back);
    await t.run(100);
    t.out.acknowledge(t.marks().at(-1)?.name ?? '');
    expect(t.out.position()).toEqual({ writtenMs: 1000, playedMs: 1000 });
    // Without marks (AudioSocket plays what it gets at once) there is nothing held to take back beyond a frame.
    const a = setup({ leadMs: 20, marks: false });
    void a.out.write(pcm(400));
    await a.run(100);
    expect(a.out.rewind()).toBeLessThanOrEqual(40);
  });

  it('waits while the connection cannot take a frame, then goes on', async () => {
    let open = false;
    const t = setup({ leadMs: 60, accept: () => open });
    void t.out.write(pcm(200));
    await t.run(100);
    expect(t.sentMs()).toBe(0);
    open = true;
    await t.run(300);
    expect(t.sentMs()).toBe(200);
  });

  it('without marks (AudioSocket), played is real time and a clear tells whether anything went out', async () => {
    const t = setup({ marks: false, leadMs: 20 });
    void t.out.write(pcm(1000));
    await t.run(500);
    const pos = t.out.position();
    expect(pos.playedMs).toBeGreaterThan(440);
    expect(pos.playedMs).toBeLessThanOrEqual(520);
    expect(t.sentMs() - pos.playedMs).toBeLessThanOrEqual(40);
    const r = t.out.clear();
    expect(r.platformHadAudio).toBe(true);
    expect(r.droppedMs + t.out.position().playedMs).toBeCloseTo(1000, 5);
    expect(t.marks()).toEqual([]);
  });
});
