import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { Pacer } from '../../../../src/media/rtp/pacer.ts';
import { InboundSmoother } from '../../../../src/transports/telephony/inbound-smoother.ts';

const frame = (n: number) => ({ samples: new Int16Array(160).fill(n), sampleRate: 8000, timestamp: n * 20 });

describe('InboundSmoother', () => {
  it('hands a 100 ms chunk on one 20 ms frame per slot, in order', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock });
    const out: Array<{ at: number; n: number }> = [];
    const s = new InboundSmoother((f) => out.push({ at: clock.now(), n: f.samples[0] as number }));
    s.start(pacer);
    for (let n = 0; n < 5; n++) s.push(frame(n));
    clock.advance(200);
    expect(out.map((o) => o.n)).toEqual([0, 1, 2, 3, 4]);
    const gaps = out.slice(1).map((o, i) => o.at - (out[i] as { at: number }).at);
    expect(gaps).toEqual([20, 20, 20, 20]);
    s.stop();
    pacer.close();
  });

  it('never holds more than ten frames: a backlog goes at once', () => {
    const clock = new FakeClock(0);
    const pacer = new Pacer({ clock });
    const out: number[] = [];
    const s = new InboundSmoother((f) => out.push(f.samples[0] as number));
    s.start(pacer);
    for (let n = 0; n < 15; n++) s.push(frame(n));
    expect(out).toEqual([0, 1, 2, 3, 4]);
    s.stop();
    clock.advance(100);
    expect(out).toHaveLength(5);
    pacer.close();
  });
});
