/** hangUp on a speech-to-speech call: after the model's last words and a short tail, or after a grace period. */
import { describe, expect, it } from 'vitest';
import { AgentHangup } from '../../../../src/call/realtime/agent-hangup.ts';
import { FakeClock } from '../../../../src/core/clock.ts';

function setup() {
  const clock = new FakeClock();
  const calls: string[] = [];
  let played: () => void = () => undefined;
  const h = new AgentHangup({ clock, graceMs: 10_000, tailMs: 300, playedOut: () => new Promise<void>((r) => (played = r)), hangup: (reason) => calls.push(reason) });
  return { clock, calls, h, played: () => played() };
}

describe('AgentHangup', () => {
  it('hangs up once, a tail after the call settles', () => {
    const { clock, calls, h } = setup();
    h.settled();
    expect(calls).toEqual([]);
    h.request('done');
    h.settled();
    clock.advance(299);
    expect(calls).toEqual([]);
    h.settled();
    clock.advance(1);
    expect(calls).toEqual(['done']);
    h.settled();
    clock.advance(20_000);
    expect(calls).toEqual(['done']);
  });

  it('without settling, hangs up after the grace period and what is playing then', async () => {
    const { clock, calls, h, played } = setup();
    h.request(undefined);
    clock.advance(10_000);
    await Promise.resolve();
    expect(calls).toEqual([]);
    played();
    await new Promise((r) => setImmediate(r));
    clock.advance(300);
    expect(calls).toEqual(['the agent ended the call']);
  });

  it('closing cancels a pending hang-up', () => {
    const { clock, calls, h } = setup();
    h.request('x');
    h.settled();
    h.close();
    clock.advance(20_000);
    expect(calls).toEqual([]);
  });
});
