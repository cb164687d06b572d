import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../../../src/core/logger.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { callGuard } from '../../../src/room/call-guard.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import type { EphemeralEvent } from '../../../src/room/events.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { unknownToolResult, type Tool } from '../../../src/room/tool.ts';
import { runToolLoop, type ToolLoopEvent } from '../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';
import { TurnGeneration, type ActResult } from '../../../src/room/turn-generation.ts';

/** A promise the test resolves by hand. */
function latch<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

let kit: RoomKit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

describe('per-call guard', () => {
  it('a tool dropped at its own timeout cannot act later, although its turn stays live', async () => {
    const call = { hungUp: 0 };
    const release = latch();
    const attempts: Array<{ live: boolean; act: ActResult<number> }> = [];
    const done = latch();
    // Ignores its signal (as careless tools do) and acts after the loop gave up on it.
    const hangUp = defineTool({
      name: 'hangUp',
      description: 'end the call',
      parameters: z.object({}),
      timeoutMs: 30,
      run: async (_a, ctx) => {
        await release.promise;
        attempts.push({ live: ctx.turn.isLive(), act: ctx.turn.act(() => ++call.hungUp) });
        done.open();
        return 'hung up';
      },
    });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'hangUp' } }], 'Sorry, I could not end the call.'] });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 's', tools: [hangUp] }));
    const room = kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'agent');
    const events: EphemeralEvent[] = [];
    kit.subscribeRoom('r', (e) => events.push(e));
    const turn = kit.userTurn('r', { text: 'bye' }, { streamText: false });
    expect((await turn.done).reason).toBe('stop');
    expect(events.find((e) => e.type === 'TOOL_CALL_END')).toMatchObject({ name: 'hangUp', status: 'timeout' });
    expect(room.history().find((m) => m.role === 'tool')?.content).toMatch(/timed out after 30 ms/);
    // The turn's own ticket is still live (no newer turn, no abort), so only the per-call guard refuses.
    expect(room.turns.ticket?.isLive()).toBe(true);
    release.open();
    await done.promise;
    expect(attempts).toEqual([{ live: false, act: { done: false, reason: 'timeout' } }]);
    expect(call.hungUp).toBe(0);
  });

  it('refuses after drop, says the turn verdict first, and acts while neither applies', () => {
    const gen = new TurnGeneration();
    const ticket = gen.begin();
    const a = callGuard(ticket);
    const b = callGuard(ticket);
    let n = 0;
    expect(a.guard.generation).toBe(ticket.generation);
    expect(a.guard.act(() => ++n)).toEqual({ done: true, value: 1 });
    a.drop('cancelled');
    a.drop('timeout');
    expect(a.guard.isLive()).toBe(false);
    expect(a.guard.act(() => ++n)).toEqual({ done: false, reason: 'cancelled' });
    // Another call of the same turn is unaffected.
    expect(b.guard.act(() => ++n)).toEqual({ done: true, value: 2 });
    gen.begin();
    expect(a.guard.act(() => ++n)).toEqual({ done: false, reason: 'superseded' });
    expect(b.guard.act(() => ++n)).toEqual({ done: false, reason: 'superseded' });
    expect(n).toBe(2);
  });
});

describe('calls the loop refuses without running a handler', () => {
  it('a tool that was not offered this turn gets Unknown tool, even if the explicit handler knows it', async () => {
    const ran: string[] = [];
    const llm = new ScriptedLlm({
      turns: [
        [
          { toolCall: { id: 'x', name: 'admin_reset', arguments: { x: 1 } } },
          { toolCall: { id: 'y', name: 'lookup', arguments: {} } },
        ],
        'ok',
      ],
    });
    const events: ToolLoopEvent[] = [];
    const result = await runToolLoop({
      provider: llm,
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([{ name: 'lookup', description: 'l', parameters: { type: 'object' } }], async (name) => {
        ran.push(name);
        return name === 'lookup' || name === 'admin_reset' ? 'done' : unknownToolResult(name);
      }),
      onEvent: (e) => void events.push(e),
    });
    expect(result.reason).toBe('stop');
    expect(llm.requests[0]?.tools?.map((t) => t.name)).toEqual(['lookup']);
    expect(ran).toEqual(['lookup']);
    const tools = result.messages.filter((m) => m.role === 'tool');
    expect(tools.map((m) => m.content)).toEqual(['{"error":"Unknown tool: admin_reset"}', 'done']);
    const statuses = events.flatMap((e) => (e.type === 'tool_result' ? [[e.outcome.call.name, e.outcome.status]] : []));
    expect(statuses.sort()).toEqual([
      ['admin_reset', 'refused'],
      ['lookup', 'ok'],
    ]);
  });

  it('a tool whose schema does not compile is refused with a structured error and logged, never run unvalidated', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', redactContent: false }, { write: (s: string) => void lines.push(s) });
    let ran = 0;
    const broken: Tool = {
      definition: { name: 'broken', description: 'b', parameters: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } } },
      handler: async () => {
        ran++;
        return 'ran';
      },
    };
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'broken', arguments: { a: 123 } } }], 'sorry'] });
    const result = await runToolLoop({ provider: llm, messages: [{ role: 'user', content: 'x' }], tools: new ToolSet([broken]), logger });
    expect(result.reason).toBe('stop');
    expect(ran).toBe(0);
    expect(JSON.parse(result.messages.find((m) => m.role === 'tool')?.content ?? '{}')).toEqual({
      error: 'Tool broken is unavailable: its parameter schema is invalid',
      tool: 'broken',
    });
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: string });
    expect(logged.find((l) => l.msg === 'tool parameter schema does not compile; tool refused')).toMatchObject({ level: 50 });
  });
});
