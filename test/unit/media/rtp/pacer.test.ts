import { describe, expect, it } from 'vitest';
import { FakeClock, type Clock, type TimerHandle } from '../../../../src/core/clock.ts';
import { Pacer, type PacerClient, type PacerRegistration } from '../../../../src/media/rtp/pacer.ts';

/** A FakeClock whose timers fire late by a chosen amount: what a busy event loop does to setTimeout. */
class LateClock implements Clock {
  readonly inner: FakeClock;
  readonly #late: () => number;
  constructor(inner: FakeClock, late: () => number) {
    this.inner = inner;
    this.#late = late;
  }
  now(): number {
    return this.inner.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.inner.setTimeout(fn, ms + this.#late());
  }
  clearTimeout(h: TimerHandle): void {
    this.inner.clearTimeout(h);
  }
}

/** Deterministic PRNG (mulberry32) so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Call {
  slot: number;
  due: number;
  now: number;
  skipped: number;
}

function recorder(): PacerClient & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    onPace(slot, due, now, skipped) {
      calls.push({ slot, due, now, skipped });
    },
  };
}

describe('Pacer', () => {
  it('keeps an absolute schedule over 10,000 late-firing ticks: no drift, every slot once, in order', () => {
    const fake = new FakeClock(3);
    const random = rng(42);
    // Mostly up to 15 ms late, sometimes 20-60 ms: a wake-up then owes several slots.
    const clock = new LateClock(fake, () => (random() < 0.05 ? 20 + random() * 40 : random() * 15));
    // earlyMs 0: this test checks that no slot is ever served before its due time (the default serves up to 1 ms early).
    // deferAfterMs Infinity: every timer of this clock fires late, the yield to I/O after a stall included.
    const pacer = new Pacer({ clock, resolutionMs: 5, maxBurst: 10, earlyMs: 0, deferAfterMs: Infinity });
    const c = recorder();
    const reg = pacer.register(c, 20);
    expect(reg.startMs).toBe(5);
    let maxPending = 0;
    while (c.calls.length < 10_000) {
      fake.advance(1 + Math.floor(random() * 7));
      maxPending = Math.max(maxPending, fake.pending);
    }
    expect(maxPending).toBe(1);
    c.calls.forEach((call, i) => {
      expect(call.slot).toBe(i);
      expect(call.due).toBe(5 + i * 20);
      expect(call.now).toBeGreaterThanOrEqual(call.due);
      expect(call.now - call.due).toBeLessThanOrEqual(60);
      expect(call.skipped).toBe(0);
    });
    // The 10,000th slot is due exactly 199,980 ms after the first: lateness never accumulated.
    expect(c.calls[9999]?.due).toBe(5 + 9999 * 20);
    expect(fake.now() - (c.calls[9999]?.due ?? 0)).toBeLessThan(20 + 60 + 7);
    // Several slots were served by one late wake-up (catch-up), yet none was lost.
    const nows = new Set(c.calls.map((x) => x.now));
    expect(nows.size).toBeLessThan(10_000);
    pacer.close();
    expect(fake.pending).toBe(0);
  });

  it('drives 1,000 streams from one timer, spread evenly over the phases of their period', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, resolutionMs: 5 });
    const clients = Array.from({ length: 1000 }, () => recorder());
    const regs = clients.map((c) => pacer.register(c, 20));
    expect(clock.pending).toBe(1);
    const perPhase = new Map<number, number>();
    for (const r of regs) perPhase.set(r.startMs % 20, (perPhase.get(r.startMs % 20) ?? 0) + 1);
    expect([...perPhase.values()]).toEqual([250, 250, 250, 250]);
    clock.advance(1000);
    for (const c of clients) {
      expect(c.calls).toHaveLength(50);
      expect(c.calls.every((x) => x.now === x.due)).toBe(true);
    }
    expect(pacer.stats().wakeups).toBe(200);
    for (const r of regs) r.close();
    expect(pacer.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('after a stall longer than maxBurst periods skips the oldest slots and stays on schedule', () => {
    const fake = new FakeClock(0);
    let n = 0;
    const clock = new LateClock(fake, () => (++n === 10 ? 200 : 0));
    const pacer = new Pacer({ clock, resolutionMs: 5, maxBurst: 3 });
    const c = recorder();
    pacer.register(c, 20);
    fake.advance(1000);
    const skipped = c.calls.reduce((s, x) => s + x.skipped, 0);
    expect(skipped).toBeGreaterThan(0);
    expect(c.calls.length + skipped).toBe(Math.floor((1000 - 5) / 20) + 1);
    for (const x of c.calls) expect(x.due).toBe(5 + x.slot * 20);
    const burst = c.calls.filter((x) => x.now === c.calls.find((y) => y.skipped > 0)?.now);
    expect(burst).toHaveLength(3);
    expect(pacer.stats().skipped).toBe(skipped);
    pacer.close();
  });

  it('isolates a throwing client and lets a client close itself mid-tick', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, resolutionMs: 20 });
    const good = recorder();
    pacer.register({ onPace: () => { throw new Error('boom'); } }, 20);
    pacer.register(good, 20);
    let reg: PacerRegistration | null = null;
    let selfCalls = 0;
    reg = pacer.register(
      {
        onPace: () => {
          if (++selfCalls === 3) reg?.close();
        },
      },
      20,
    );
    clock.advance(200);
    expect(good.calls).toHaveLength(10);
    expect(selfCalls).toBe(3);
    expect(pacer.size).toBe(2);
    pacer.close();
    expect(clock.pending).toBe(0);
  });

  it('serves only the streams due: a wake-up serves one phase lane, whoever joins, leaves or changes period mid-tick', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, resolutionMs: 5 });
    const byPhase = new Map<number, number>();
    const count = (phase: number): void => {
      byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
    };
    const regs: PacerRegistration[] = [];
    let joined: ReturnType<typeof recorder> | undefined;
    for (let i = 0; i < 8; i++) {
      const reg: PacerRegistration = pacer.register(
        {
          onPace: (slot, due) => {
            count(due % 20);
            // Mid-tick: one stream leaves, one changes period, one brings in a new stream.
            if (i === 0 && slot === 2) reg.close();
            if (i === 1 && slot === 2) reg.setPeriod(40);
            if (i === 2 && slot === 2) {
              joined = recorder();
              pacer.register(joined, 20);
            }
          },
        },
        20,
      );
      regs.push(reg);
    }
    expect(new Set(regs.map((r) => r.startMs % 20)).size).toBe(4); // two streams per phase
    clock.advance(400);
    // 4 wake-ups per 20 ms, each serving its own phase: every stream once per period, none twice.
    expect(pacer.stats().wakeups).toBeLessThanOrEqual(4 * 20 + 2);
    const total = [...byPhase.values()].reduce((a, b) => a + b, 0);
    expect(total + (joined?.calls.length ?? 0)).toBe(pacer.stats().slots);
    expect(pacer.size).toBe(8); // 8 - 1 closed + 1 joined
    expect(joined?.calls.length).toBeGreaterThanOrEqual(15);
    for (const c of joined?.calls ?? []) expect(c.now).toBe(c.due);
    const st = pacer.stats();
    expect(st.lateness.counts.reduce((a, b) => a + b, 0)).toBe(st.wakeups);
    expect(st.lateness.counts[0]).toBe(st.wakeups); // a fake clock fires on time: every wake-up in the first bucket
    pacer.close();
    expect(clock.pending).toBe(0);
  });

  it('counts wake-ups by lateness in its histogram', () => {
    const fake = new FakeClock(0);
    const lates = [0, 3, 7, 30, 200];
    let i = 0;
    const pacer = new Pacer({ clock: new LateClock(fake, () => lates[i++ % lates.length] as number), resolutionMs: 5, maxBurst: 20 });
    pacer.register(recorder(), 20);
    fake.advance(2000);
    const { bucketsMs, counts } = pacer.stats().lateness;
    expect(bucketsMs).toEqual([0.5, 1, 2, 5, 10, 20, 50, 100]);
    expect(counts[bucketsMs.indexOf(5)]).toBeGreaterThan(0); // 3 ms late
    expect(counts[bucketsMs.length]).toBeGreaterThan(0); // 200 ms late
    expect(pacer.stats().maxLateMs).toBeGreaterThanOrEqual(200);
    pacer.close();
  });

  it('after a stall yields once to pending I/O before catching up, and never when on time', () => {
    const fake = new FakeClock(0);
    let n = 0;
    const yields: number[] = [];
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => {
        if (ms < 5) yields.push(fake.now()); // slots are 20 ms apart: a shorter timer is the yield
        return fake.setTimeout(fn, ms + (++n === 5 ? 90 : 0)); // the 5th timer (for slot 4, 85 ms) fires at 175 ms
      },
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const pacer = new Pacer({ clock, resolutionMs: 5 });
    const c = recorder();
    // What the stalled process had waiting in its sockets: delivered when the event loop gets to I/O.
    let delivered = false;
    const io = (): void => {
      delivered = true;
    };
    const seenBeforeIo: number[] = [];
    pacer.register(
      {
        onPace(slot, due, now, skipped) {
          c.onPace(slot, due, now, skipped);
          if (!delivered) seenBeforeIo.push(slot);
        },
      },
      20,
    );
    fake.advance(60); // slots 0, 1, 2 on time
    expect(yields).toHaveLength(0);
    // The I/O that piled up during the stall: in the event loop's next turn after the late timer (at 175 ms).
    fake.setTimeout(io, 176 - fake.now());
    fake.advance(300);
    expect(yields).toEqual([175]); // one yield, at the late wake-up
    // Every slot the late wake-up caught up was served after the I/O, not before it.
    expect(seenBeforeIo).toEqual([0, 1, 2, 3]); // slot 3 (65 ms) was on time; the timer for slot 4 fired 90 ms late
    expect(c.calls.map((x) => x.slot)).toEqual(Array.from({ length: c.calls.length }, (_, i) => i));
    expect(c.calls.every((x) => x.skipped === 0)).toBe(true);
    pacer.close();
  });

  it('changes period from the next slot on, keeping the schedule absolute', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock, resolutionMs: 10 });
    const calls: Call[] = [];
    const reg: PacerRegistration = pacer.register(
      {
        onPace(slot, due, now, skipped) {
          calls.push({ slot, due, now, skipped });
          if (calls.length === 3) reg.setPeriod(30);
        },
      },
      20,
    );
    clock.advance(200);
    expect(calls.map((c) => c.due)).toEqual([10, 30, 50, 70, 100, 130, 160, 190]);
    expect(reg.periodMs).toBe(30);
    pacer.close();
  });

  it('by default serves a slot from a wake-up that fires 0.5 ms early, instead of an empty wake-up and a retry', () => {
    // Node timers run off a millisecond-truncated loop clock and can fire up to ~1 ms before the requested delay
    // by performance.now(); a delay under 1 ms is raised to 1 ms. Model both on the FakeClock.
    const fake = new FakeClock(0);
    const early: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms) => fake.setTimeout(fn, Math.max(1, ms) - 0.5),
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const pacer = new Pacer({ clock: early, resolutionMs: 5 });
    const c = recorder();
    pacer.register(c, 20);
    fake.advance(2000);
    expect(c.calls.length).toBeGreaterThanOrEqual(99);
    c.calls.forEach((call, i) => {
      expect(call.slot).toBe(i);
      expect(call.due).toBe(5 + i * 20);
      expect(call.now).toBe(call.due - 0.5); // served by the early wake-up itself
    });
    expect(pacer.stats().wakeups).toBe(c.calls.length);
    pacer.close();
    expect(fake.pending).toBe(0);
  });

  it('with the default earlyMs serves no slot more than 1 ms early under late-firing timers, and loses none', () => {
    const fake = new FakeClock(3);
    const random = rng(7);
    const clock = new LateClock(fake, () => (random() < 0.05 ? 20 + random() * 40 : random() * 15));
    const pacer = new Pacer({ clock, resolutionMs: 5, maxBurst: 10 });
    const c = recorder();
    pacer.register(c, 20);
    while (c.calls.length < 5000) fake.advance(1 + Math.floor(random() * 7));
    c.calls.forEach((call, i) => {
      expect(call.slot).toBe(i);
      expect(call.due).toBe(5 + i * 20);
      expect(call.now).toBeGreaterThanOrEqual(call.due - 1);
      expect(call.skipped).toBe(0);
    });
    expect(c.calls.some((x) => x.now < x.due)).toBe(true); // the early window was exercised
    pacer.close();
  });

  it('rejects a negative earlyMs', () => {
    expect(() => new Pacer({ clock: new FakeClock(0), earlyMs: -1 })).toThrow(RangeError);
  });

  it('stops its timer when the last client leaves and restarts for a new one', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock });
    const a = pacer.register(recorder(), 20);
    expect(clock.pending).toBe(1);
    a.close();
    a.close();
    expect(clock.pending).toBe(0);
    const c = recorder();
    pacer.register(c, 20);
    clock.advance(100);
    expect(c.calls.length).toBeGreaterThan(0);
    pacer.close();
    expect(() => pacer.register(recorder(), 20)).toThrow();
  });
});
