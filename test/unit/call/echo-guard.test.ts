import { describe, expect, it } from 'vitest';
import { EchoGuard } from '../../../src/call/echo-guard.ts';
import { loadSpeech } from '../../support/call-harness.ts';

const RATE = 16000;
const F = RATE / 50;

/**
 * Play `agent` out from t=0 and feed `caller` back as the caller's audio, frame by frame on a 20 ms clock;
 * returns the echo verdict at each frame where the caller's audio is voiced.
 */
function verdicts(agent: Int16Array, caller: Int16Array, from = 0, jitterMs = 0): boolean[] {
  const g = new EchoGuard();
  const out: boolean[] = [];
  let seed = 7;
  const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (let i = 0; (i + 1) * F <= Math.min(agent.length, caller.length); i++) {
    const t = i * 20;
    g.noteOutbound(agent.subarray(i * F, (i + 1) * F), t);
    const c = caller.subarray(i * F, (i + 1) * F);
    g.noteInbound(c, t + 20 + rand() * jitterMs);
    let e = 0;
    for (const v of c) e += v * v;
    if (t >= from && Math.sqrt(e / F) > 300) out.push(g.isEcho(t + 20));
  }
  return out;
}

function delayed(x: Int16Array, ms: number, gainDb: number): Int16Array {
  const out = new Int16Array(x.length);
  const d = Math.round((RATE * ms) / 1000);
  const g = 10 ** (gainDb / 20);
  for (let i = d; i < x.length; i++) out[i] = Math.round((x[i - d] as number) * g);
  return out;
}

function mix(a: Int16Array, b: Int16Array): Int16Array {
  return Int16Array.from({ length: Math.min(a.length, b.length) }, (_, i) => Math.max(-32768, Math.min(32767, (a[i] as number) + (b[i] as number))));
}

const agent = loadSpeech('order-status-kal16.wav', RATE);
const caller = loadSpeech('cancel-subscription-slt.wav', RATE);
const share = (v: readonly boolean[]): number => v.filter(Boolean).length / Math.max(1, v.length);

describe('echo guard', () => {
  for (const delay of [100, 200, 300]) {
    it(`calls our own voice back at -10 dB after ${delay} ms echo`, () => {
      expect(share(verdicts(agent, delayed(agent, delay, -10), delay + 200))).toBeGreaterThan(0.8);
    });
  }

  it('still calls it echo when arrival times jitter by up to 20 ms (jitter buffers, a busy event loop)', () => {
    expect(share(verdicts(agent, delayed(agent, 250, -10), 450, 20))).toBeGreaterThan(0.7);
  });

  it('does not call a caller talking over the agent echo', () => {
    const padded = new Int16Array(agent.length);
    padded.set(caller.subarray(0, Math.min(caller.length, agent.length)), 0);
    expect(share(verdicts(agent, padded))).toBeLessThan(0.1);
    expect(share(verdicts(agent, padded, 0, 20))).toBeLessThan(0.1);
    // With the agent's echo at -10 dB mixed in under the caller: where the caller's voice dominates the echo
    // (by 6 dB or more in a frame and the frames before), it is not called echo.
    const echo = delayed(agent, 150, -10);
    const mixed = mix(padded, echo);
    const g = new EchoGuard();
    const db = (x: Int16Array): number => 10 * Math.log10(x.reduce((n, v) => n + v * v, 0) / x.length + 1);
    const dominant: boolean[] = [];
    for (let i = 0; (i + 1) * F <= mixed.length; i++) {
      const t = i * 20;
      g.noteOutbound(agent.subarray(i * F, (i + 1) * F), t);
      g.noteInbound(mixed.subarray(i * F, (i + 1) * F), t + 20);
      const window = (x: Int16Array): Int16Array => x.subarray(Math.max(0, (i - 7) * F), (i + 1) * F);
      if (db(window(padded)) > db(window(echo)) + 6 && db(padded.subarray(i * F, (i + 1) * F)) > 50) dominant.push(g.isEcho(t + 20));
    }
    expect(dominant.length).toBeGreaterThan(20);
    expect(share(dominant)).toBeLessThan(0.15);
  });

  it('does not call anything echo while the agent is silent', () => {
    expect(share(verdicts(new Int16Array(agent.length), agent))).toBe(0);
  });
});

describe('echo guard: a caller talking over the echo', () => {
  it('is louder than the echo once the caller speaks, and not before', () => {
    const echo = delayed(agent, 150, -10);
    const callerLate = new Int16Array(agent.length);
    const start = 1500 * 16; // the caller starts 1.5 s in
    callerLate.set(caller.subarray(0, Math.min(caller.length, agent.length - start)), start);
    const mixed = mix(callerLate, echo);
    const g = new EchoGuard();
    const before: boolean[] = [];
    const after: boolean[] = [];
    for (let i = 0; (i + 1) * F <= mixed.length; i++) {
      const t = i * 20;
      g.noteOutbound(agent.subarray(i * F, (i + 1) * F), t);
      g.noteInbound(mixed.subarray(i * F, (i + 1) * F), t + 20);
      if (t === 600) expect(g.isEcho(t + 20)).toBe(true);
      if (t > 600 && t < 1400) before.push(g.louderThanEcho(t + 20));
      if (t > 1800 && t < 2600) after.push(g.louderThanEcho(t + 20));
    }
    // Recognition acts on three windows in a row: that never happens on the echo alone, and soon after the caller starts.
    const runs = (v: readonly boolean[]): number => v.filter((x, i) => x && v[i - 1] === true && v[i - 2] === true).length;
    expect(runs(before)).toBe(0);
    expect(runs(after.slice(0, 15))).toBeGreaterThan(0);
  });
});
