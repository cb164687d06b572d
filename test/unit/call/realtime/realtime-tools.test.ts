/**
 * A realtime model's tool calls run the room's way: policy, argument validation, per-tool deadlines,
 * truncation, TOOL_CALL_START/END room events and call events, results committed to the room; every call
 * the model still wants is answered (failures included), a withdrawn one is aborted and not answered.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CallEvent } from '../../../../src/call/call-events.ts';
import { RealtimeTools } from '../../../../src/call/realtime/realtime-tools.ts';
import { FakeClock } from '../../../../src/core/clock.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { defineTool } from '../../../../src/room/define-tool.ts';
import type { EphemeralEvent } from '../../../../src/room/events.ts';
import { RoomKit } from '../../../../src/room/room-kit.ts';
import type { Tool } from '../../../../src/room/tool.ts';
import { ToolPolicy } from '../../../../src/room/tool-policy.ts';
import { ToolSet } from '../../../../src/room/tool-set.ts';

const add = defineTool({ name: 'add', description: 'Add', parameters: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }) => ({ sum: a + b }) });
const big = defineTool({ name: 'big', description: 'A huge answer', parameters: z.object({}), run: () => 'x'.repeat(200_000) });
const secret = defineTool({ name: 'secret', description: 'Blocked by policy', parameters: z.object({}), run: () => 'leaked' });
/** Never answers on its own; honours its signal. */
const slow: Tool = {
  definition: { name: 'slow', description: 'Slow', parameters: { type: 'object', properties: {} } },
  timeoutMs: 1000,
  handler: (_n, _a, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
};

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}

function setup(maxCallsPerTurn = 20) {
  const clock = new FakeClock();
  const kit = new RoomKit({ clock });
  const room = kit.createRoom({ id: 'call-1', metadata: { 'call.id': 'call-1' } });
  const ephemeral: EphemeralEvent[] = [];
  kit.subscribeRoom(room.id, (e) => ephemeral.push(e));
  const sent: Array<{ callId: string; name: string; output: string }> = [];
  const events: CallEvent[] = [];
  const tools = new RealtimeTools({
    tools: new ToolSet([add, big, secret, slow]),
    policy: new ToolPolicy({ deny: ['secret'] }),
    kit,
    roomId: room.id,
    roomMetadata: room.metadata,
    state: room.state,
    toolTimeoutMs: 30_000,
    loopTimeoutMs: 600_000,
    maxCallsPerTurn,
    clock,
    logger: silentLogger(),
    sinceAnswer: () => clock.now(),
    emit: (e) => events.push(e),
    send: (callId, name, output) => sent.push({ callId, name, output }),
  });
  return { clock, kit, room, ephemeral, sent, events, tools };
}

describe('RealtimeTools', () => {
  it('offers what the policy allows, runs a call and answers it, with room and call events', async () => {
    const t = setup();
    expect(t.tools.definitions().map((d) => d.name)).toEqual(['add', 'big', 'slow']);
    t.tools.run({ callId: 'c1', name: 'add', arguments: '{"a":2,"b":3}', responseId: 'r1' });
    await settle();
    expect(t.sent).toEqual([{ callId: 'c1', name: 'add', output: '{"sum":5}' }]);
    expect(t.ephemeral.map((e) => e.type)).toEqual(['TOOL_CALL_START', 'TOOL_CALL_END']);
    expect(t.ephemeral[1]).toMatchObject({ callId: 'c1', name: 'add', status: 'ok', truncated: false });
    expect(t.events.map((e) => e.type)).toEqual(['tool_started', 'tool_finished']);
    expect(t.room.history()).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'add', arguments: '{"a":2,"b":3}' }] },
      { role: 'tool', toolCallId: 'c1', name: 'add', content: '{"sum":5}' },
    ]);
  });

  it('answers refused, invalid and unknown calls with errors the model can act on', async () => {
    const t = setup();
    t.tools.run({ callId: 'c1', name: 'secret', arguments: '{}' });
    t.tools.run({ callId: 'c2', name: 'add', arguments: '{"a":"two"}' });
    t.tools.run({ callId: 'c3', name: 'nope', arguments: '{}' });
    t.tools.run({ callId: 'c4', name: 'add', arguments: 'not json' });
    await settle();
    const out = Object.fromEntries(t.sent.map((s) => [s.callId, JSON.parse(s.output) as { error: string }]));
    expect(out['c1']?.error).toMatch(/not permitted by the tool policy/);
    expect(out['c2']?.error).toMatch(/Invalid arguments for tool add/);
    expect(out['c3']?.error).toBe('Unknown tool: nope');
    expect(out['c4']?.error).toMatch(/Invalid arguments/);
    expect(t.events.filter((e) => e.type === 'tool_finished').map((e) => (e.type === 'tool_finished' ? [e.toolCallId, e.outcome] : []))).toEqual([
      ['c1', 'refused'],
      ['c2', 'error'],
      ['c3', 'refused'],
      ['c4', 'error'],
    ]);
  });

  it('times a call out on its deadline and still answers; truncates a flood', async () => {
    const t = setup();
    t.tools.run({ callId: 'c1', name: 'slow', arguments: '{}' });
    t.tools.run({ callId: 'c2', name: 'big', arguments: '{}' });
    await settle();
    expect(t.tools.running).toBe(1);
    t.clock.advance(1000);
    await settle();
    const out = Object.fromEntries(t.sent.map((s) => [s.callId, s.output]));
    expect(JSON.parse(out['c1'] ?? '{}').error).toBe('Tool slow timed out after 1000 ms');
    expect(out['c2']?.length).toBeLessThan(200_000);
    expect(out['c2']).toMatch(/\[TRUNCATED: /);
    expect(t.ephemeral.find((e) => e.type === 'TOOL_CALL_END' && e.callId === 'c2')).toMatchObject({ truncated: true });
  });

  it('a call the model withdraws is aborted and not answered; so are calls of a replaced session', async () => {
    const t = setup();
    t.tools.run({ callId: 'c1', name: 'slow', arguments: '{}' });
    t.tools.run({ callId: 'c2', name: 'slow', arguments: '{}' });
    await settle();
    t.tools.cancel(['c1']);
    t.tools.newSession();
    await settle();
    expect(t.tools.running).toBe(0);
    expect(t.sent).toEqual([]);
    expect(t.events.filter((e) => e.type === 'tool_finished').map((e) => (e.type === 'tool_finished' ? e.outcome : ''))).toEqual(['cancelled', 'cancelled']);
  });

  it('refuses calls beyond the per-turn budget until the caller speaks again', async () => {
    const t = setup(2);
    for (const id of ['c1', 'c2', 'c3']) t.tools.run({ callId: id, name: 'add', arguments: '{"a":1,"b":1}' });
    await settle();
    expect(JSON.parse(t.sent.find((x) => x.callId === 'c3')?.output ?? '{}').error).toMatch(/Too many tool calls/);
    t.tools.newTurn();
    t.tools.run({ callId: 'c4', name: 'add', arguments: '{"a":1,"b":1}' });
    await settle();
    expect(t.sent.find((x) => x.callId === 'c4')).toEqual({ callId: 'c4', name: 'add', output: '{"sum":2}' });
  });
});
