import { describe, expect, it } from 'vitest';
import { Resampler } from '../../../../src/media/resample/resampler.ts';
import { concat, ENGINES, noise, PAIRS, processChunked, residualDb, tones } from './signals.ts';

describe.each(ENGINES)('resampler streaming (%s)', (engine) => {
  const make = (from: number, to: number) => new Resampler(from, to, { engine });

  it.each(PAIRS)('%i -> %i: 20 ms frames give exactly the whole-buffer output', (from, to) => {
    const x = noise(Math.round(from * 0.5), from + to);
    const whole = make(from, to).process(x).slice();
    const framed = processChunked(make(from, to), x, from / 50);
    expect(framed.length).toBe(whole.length);
    expect(framed).toEqual(whole);
  });

  it.each(PAIRS)('%i -> %i: odd chunk sizes (1, 7, 441) give exactly the whole-buffer output', (from, to) => {
    const x = noise(Math.round(from * 0.25), from * 3 + to);
    const whole = make(from, to).process(x).slice();
    for (const chunk of [1, 7, 441]) {
      const chunked = processChunked(make(from, to), x, chunk);
      expect(chunked, `chunk ${chunk}`).toEqual(whole);
    }
  });

  it.each(PAIRS)('%i -> %i: output count tracks N * to / from exactly over 60 s of 20 ms frames', (from, to) => {
    const r = make(from, to);
    const frame = new Int16Array(from / 50);
    let totalIn = 0;
    let totalOut = 0;
    let worst = 0;
    for (let i = 0; i < 3000; i++) {
      totalOut += r.process(frame).length;
      totalIn += frame.length;
      worst = Math.max(worst, Math.abs(totalOut - (totalIn * to) / from));
    }
    // At every frame the count is within one sample of the exact figure, and after 60 s it is exact.
    expect(worst).toBeLessThan(1);
    expect(totalOut).toBe(60 * to);
    r.close();
  });

  it.each(PAIRS)('%i -> %i: `delay` aligns output with input (two passband tones)', (from, to) => {
    const lower = Math.min(from, to);
    const parts: Array<readonly [number, number]> = [
      [0.0137 * lower, 12000],
      [0.31 * lower, 9000],
    ];
    const r = make(from, to);
    const y = processChunked(r, tones(from, 0.3, parts), from / 50);
    const delay = r.delay;
    const expected = (n: number) =>
      parts.reduce((v, [f, a]) => v + a * Math.sin((2 * Math.PI * f * (n - delay)) / to), 0);
    // Off by a tenth of a sample the 0.31 x lower tone alone would leave about -23 dB.
    expect(residualDb(y, Math.ceil(delay) + Math.round(0.02 * to), y.length, expected)).toBeLessThan(-45);
    r.close();
  });

  it.each(PAIRS)('%i -> %i: flush emits the tail as if followed by silence, then starts afresh', (from, to) => {
    const x = noise(Math.round(from * 0.1) + 3, to);
    const r = make(from, to);
    const body = r.process(x).slice();
    const tail = r.flush().slice();
    expect(body.length).toBe(Math.ceil((x.length * to) / from));
    expect(tail.length).toBe(Math.ceil(r.delay));
    // The same stream padded with silence, on a fresh resampler: identical samples.
    const padded = make(from, to).process(concat([x, new Int16Array(from)]));
    expect(concat([body, tail])).toEqual(padded.subarray(0, body.length + tail.length));
    // The tail carries the end of the signal, not silence.
    expect(tail.some((v) => Math.abs(v) > 1000)).toBe(true);
    // After flush the resampler behaves like a new one.
    expect(r.process(x).slice()).toEqual(make(from, to).process(x).slice());
    expect(r.flush().length).toBe(tail.length);
    expect(r.flush().length).toBe(0);
  });

  it.each(PAIRS)('%i -> %i: reset forgets history, phase and counters', (from, to) => {
    const x = noise(Math.round(from * 0.1), 7);
    const r = make(from, to);
    r.process(noise(Math.round(from * 0.0371), 99)); // leave state mid-phase
    r.reset();
    const afterReset = processChunked(r, x, 7);
    expect(afterReset).toEqual(make(from, to).process(x).slice());
  });
});
