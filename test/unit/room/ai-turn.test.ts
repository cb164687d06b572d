import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { AiTurn } from '../../../src/room/ai-turn.ts';
import type { EphemeralEvent } from '../../../src/room/events.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { TurnGeneration } from '../../../src/room/turn-generation.ts';

const TEXT_BUFFER = 4096;

let kit: RoomKit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 2));
}

describe('AiTurn text backpressure', () => {
  it('the loop deadline ends a turn stuck handing over text nobody reads', async () => {
    const clock = new FakeClock();
    const llm = new ScriptedLlm({ chunkSize: 1, turns: [[{ text: 'x'.repeat(5_000) }]] });
    kit = new RoomKit({ clock });
    kit.registerChannel(new AiChannel({ id: 'a', provider: llm, systemPrompt: 's', limits: { toolLoopTimeoutSeconds: 0.3 } }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'a');
    const events: EphemeralEvent[] = [];
    kit.subscribeRoom('r', (e) => events.push(e));
    const turn = kit.userTurn('r', { text: 'hi' });
    // The buffer is full and the next delta waits for a reader that never comes.
    await until(() => events.filter((e) => e.type === 'TEXT_DELTA').length === TEXT_BUFFER + 1);
    clock.advance(300);
    const outcome = await Promise.race([turn.done, new Promise<string>((r) => setTimeout(() => r('still pending'), 3_000))]);
    expect(outcome).toMatchObject({ reason: 'timeout' });
    // What was buffered is still readable; the stuck delta was dropped, and the stream ends.
    let read = 0;
    for await (const d of turn.text) read += d.length;
    expect(read).toBe(TEXT_BUFFER);
    expect(events.at(-1)).toMatchObject({ type: 'TURN_ENDED', reason: 'timeout' });
  });

  it('pushText waits for room, but no longer than its signal', async () => {
    const ticket = new TurnGeneration().begin();
    const turn = new AiTurn('t', ticket, true);
    for (let i = 0; i < TEXT_BUFFER; i++) await turn.pushText('a');
    const stop = new AbortController();
    let returned = false;
    const pending = turn.pushText('b', stop.signal).then(() => (returned = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(returned).toBe(false);
    stop.abort();
    expect(await Promise.race([pending, new Promise<string>((r) => setTimeout(() => r('still waiting after the abort'), 1_000))])).toBe(true);
    expect(ticket.signal.aborted).toBe(false);
    // Once aborted, a push still lands while there is room (nothing is lost needlessly).
    const reader = turn.text[Symbol.asyncIterator]();
    await reader.next();
    await turn.pushText('c', stop.signal);
    turn.finish({ reason: 'stop', text: '', agent: 'a', rounds: 0 });
    const rest: string[] = [];
    for (let r = await reader.next(); r.done !== true; r = await reader.next()) rest.push(r.value);
    expect(rest).toHaveLength(TEXT_BUFFER);
    expect(rest.at(-1)).toBe('c');
    expect(rest).not.toContain('b');
  });
});
