import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep } from '../../../src/core/abort.ts';
import { FakeClock } from '../../../src/core/clock.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { Agent } from '../../../src/room/agent.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import type { Channel, ChannelBinding } from '../../../src/room/channel.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import type { EphemeralEvent, RoomEvent } from '../../../src/room/events.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { unknownToolResult } from '../../../src/room/tool.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';

class RecordingChannel implements Channel {
  readonly id: string;
  readonly category = 'transport' as const;
  readonly got: Array<{ event: RoomEvent; binding: ChannelBinding }> = [];
  closed = false;
  constructor(id: string) {
    this.id = id;
  }
  deliver(event: RoomEvent, binding: ChannelBinding): void {
    this.got.push({ event, binding });
  }
  close(): void {
    this.closed = true;
  }
}

let kit: RoomKit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

describe('RoomKit', () => {
  it('attaches channels with a category and metadata, and broadcasts events to all but the source', async () => {
    kit = new RoomKit();
    const call = new RecordingChannel('call');
    const hook = new RecordingChannel('hook');
    kit.registerChannel(call);
    kit.registerChannel(hook);
    expect(() => kit?.registerChannel(new RecordingChannel('call'))).toThrow(/already registered/);
    const room = kit.createRoom({ id: 'r', metadata: { callerNumber: '+4712345678' } });
    const b1 = kit.attachChannel('r', 'call', { metadata: { codec: 'pcmu' } });
    const b2 = kit.attachChannel('r', 'hook', { category: 'webhook' });
    expect(b1).toEqual({ roomId: 'r', channelId: 'call', category: 'transport', metadata: { codec: 'pcmu' } });
    expect(b2.category).toBe('webhook');
    kit.addMessage('r', 'call', { role: 'user', content: 'hello' });
    await kit.flush();
    // The call channel does not get its own message back; the hook gets everything after it attached.
    expect(call.got.map((g) => g.event.type)).toEqual(['channel_attached', 'channel_attached']);
    expect(hook.got.map((g) => g.event.type)).toEqual(['channel_attached', 'message']);
    expect(hook.got[1]?.binding).toBe(b2);
    expect(hook.got[1]?.event).toMatchObject({ roomId: 'r', seq: 3, source: 'call', message: { role: 'user', content: 'hello' } });
    expect(room.history()).toEqual([{ role: 'user', content: 'hello' }]);
    expect(kit.detachChannel('r', 'hook')).toBe(true);
    expect(kit.detachChannel('r', 'hook')).toBe(false);
    kit.addMessage('r', 'system', { role: 'user', content: 'again' });
    await kit.flush();
    expect(hook.got).toHaveLength(2);
    expect(call.got.map((g) => g.event.type)).toEqual(['channel_attached', 'channel_attached', 'channel_detached', 'message']);
    await kit.close();
    expect(call.closed).toBe(true);
    kit = undefined;
  });

  it('a failing channel delivery is logged and does not affect the room or other channels', async () => {
    kit = new RoomKit();
    const good = new RecordingChannel('good');
    kit.registerChannel({ id: 'bad', category: 'webhook', deliver: () => Promise.reject(new Error('boom')) });
    kit.registerChannel(good);
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'bad');
    kit.attachChannel('r', 'good');
    kit.addMessage('r', 'x', { role: 'user', content: 'hi' });
    await kit.flush();
    expect(good.got.map((g) => g.event.type)).toEqual(['channel_attached', 'message']);
  });

  it('subscribeRoom delivers ephemeral events of that room only, until unsubscribed', () => {
    kit = new RoomKit();
    kit.createRoom({ id: 'a' });
    kit.createRoom({ id: 'b' });
    const got: EphemeralEvent[] = [];
    const id = kit.subscribeRoom('a', (e) => got.push(e));
    kit.emitEphemeral('a', 'agent', { type: 'TEXT_DELTA', turnId: 't', delta: 'x' });
    kit.emitEphemeral('b', 'agent', { type: 'TEXT_DELTA', turnId: 't', delta: 'y' });
    expect(kit.unsubscribeRoom(id)).toBe(true);
    kit.emitEphemeral('a', 'agent', { type: 'TEXT_DELTA', turnId: 't', delta: 'z' });
    expect(got.map((e) => e.type === 'TEXT_DELTA' && e.delta)).toEqual(['x']);
    expect(got[0]).toMatchObject({ roomId: 'a', channelId: 'agent' });
    expect(() => kit?.subscribeRoom('nope', () => {})).toThrow(/does not exist/);
  });

  it('runs a user turn: streamed text, committed history, event stream with two concurrent tool calls', async () => {
    const llm = new ScriptedLlm({
      chunkSize: 4,
      turns: [
        [{ toolCall: { id: 'w', name: 'weather', arguments: { city: 'Oslo' } } }, { toolCall: { id: 't', name: 'time', arguments: { city: 'Oslo' } } }],
        [{ text: 'Sunny, ' }, { text: 'noon.' }],
      ],
    });
    const intervals: Record<string, [number, number]> = {};
    const mk = (name: string) =>
      defineTool({
        name,
        description: name,
        parameters: z.object({ city: z.string() }),
        run: async () => {
          const s = performance.now();
          await sleep(80);
          intervals[name] = [s, performance.now()];
          return name === 'weather' ? 'sunny' : '12:00';
        },
      });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 'helpful', tools: [mk('weather'), mk('time')] }));
    const transport = new RecordingChannel('call');
    kit.registerChannel(transport);
    const room = kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'call');
    kit.attachChannel('r', 'agent');
    const events: EphemeralEvent[] = [];
    kit.subscribeRoom('r', (e) => events.push(e));
    const turn = kit.userTurn('r', { text: 'weather and time in Oslo?', source: 'call' });
    const deltas: string[] = [];
    for await (const d of turn.text) deltas.push(d);
    const out = await turn.done;
    expect(out).toMatchObject({ reason: 'stop', text: 'Sunny, noon.', agent: 'agent', rounds: 1 });
    expect(deltas).toEqual(['Sunn', 'y, ', 'noon', '.']);
    const [w, t] = [intervals['weather'], intervals['time']] as [[number, number], [number, number]];
    expect(Math.max(w[0], t[0])).toBeLessThan(Math.min(w[1], t[1]));
    const types = events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['TURN_STARTED', 'TOOL_CALL_START']);
    expect(types.slice(2, 4).sort()).toEqual(['TOOL_CALL_END', 'TOOL_CALL_END']);
    expect(types.slice(4)).toEqual(['TEXT_DELTA', 'TEXT_DELTA', 'TEXT_DELTA', 'TEXT_DELTA', 'TURN_ENDED']);
    const start = events[1];
    expect(start?.type === 'TOOL_CALL_START' && start.calls.map((c) => c.name)).toEqual(['weather', 'time']);
    for (const e of events) {
      if (e.type !== 'TOOL_CALL_END') continue;
      expect(e.status).toBe('ok');
      expect(e.duration_ms).toBeGreaterThanOrEqual(70);
    }
    expect(room.history().map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
    await kit.flush();
    // The transport got the committed messages (not its own user message).
    expect(transport.got.filter((g) => g.event.type === 'message').map((g) => (g.event.type === 'message' ? g.event.message.role : ''))).toEqual([
      'assistant',
      'tool',
      'tool',
      'assistant',
    ]);
  });

  it('binding metadata overrides system_prompt, temperature, max_tokens, thinking_budget and tools per room', async () => {
    const llm = new ScriptedLlm({ turns: ['a', [{ toolCall: { name: 'crm_lookup', arguments: { id: 7 } } }], 'b'] });
    const handled: string[] = [];
    kit = new RoomKit();
    kit.registerChannel(
      new AiChannel({
        id: 'agent',
        provider: llm,
        systemPrompt: 'default prompt',
        temperature: 0.2,
        toolHandler: async (name, args) => {
          handled.push(`${name}:${JSON.stringify(args)}`);
          return name === 'crm_lookup' ? '{"name":"Ada"}' : unknownToolResult(name);
        },
      }),
    );
    kit.createRoom({ id: 'plain' });
    kit.createRoom({ id: 'custom' });
    kit.attachChannel('plain', 'agent');
    kit.attachChannel('custom', 'agent', {
      metadata: {
        system_prompt: 'custom prompt',
        temperature: 0.9,
        max_tokens: 123,
        thinking_budget: 456,
        tools: [{ name: 'crm_lookup', description: 'look up a customer', parameters: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } }],
      },
    });
    await kit.userTurn('plain', { text: 'x' }, { streamText: false }).done;
    await kit.userTurn('custom', { text: 'y' }, { streamText: false }).done;
    const [plain, custom] = llm.requests;
    expect(plain?.messages[0]).toEqual({ role: 'system', content: 'default prompt' });
    expect(plain?.temperature).toBe(0.2);
    expect(plain?.maxTokens).toBeUndefined();
    expect(plain?.tools).toBeUndefined();
    expect(custom?.messages[0]).toEqual({ role: 'system', content: 'custom prompt' });
    expect(custom).toMatchObject({ temperature: 0.9, maxTokens: 123, thinkingBudget: 456 });
    expect(custom?.tools?.map((t) => t.name)).toEqual(['crm_lookup']);
    expect(handled).toEqual(['crm_lookup:{"id":7}']);
  });

  it('binding metadata tools replace a same-named channel default for that room only', async () => {
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'lookup', arguments: { q: 'a' } } }],
        'default answered',
        [{ toolCall: { name: 'lookup', arguments: { id: 7 } } }],
        'override answered',
      ],
    });
    const handled: string[] = [];
    const lookup = defineTool({ name: 'lookup', description: 'default lookup', parameters: z.object({ q: z.string() }), run: () => 'from default tool' });
    const other = defineTool({ name: 'other', description: 'other', parameters: z.object({}), run: () => 'other' });
    kit = new RoomKit();
    kit.registerChannel(
      new AiChannel({
        id: 'agent',
        provider: llm,
        systemPrompt: 's',
        tools: [lookup, other],
        toolHandler: async (name, args) => {
          handled.push(`${name}:${JSON.stringify(args)}`);
          return name === 'lookup' ? 'from room handler' : unknownToolResult(name);
        },
      }),
    );
    kit.createRoom({ id: 'plain' });
    const custom = kit.createRoom({ id: 'custom' });
    kit.attachChannel('plain', 'agent');
    const roomLookup = { name: 'lookup', description: 'CRM lookup for this tenant', parameters: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } };
    kit.attachChannel('custom', 'agent', { metadata: { tools: [roomLookup] } });
    await kit.userTurn('plain', { text: 'x' }, { streamText: false }).done;
    await kit.userTurn('custom', { text: 'y' }, { streamText: false }).done;
    const [plain, , over] = llm.requests;
    expect(plain?.tools?.map((t) => [t.name, t.description])).toEqual([
      ['lookup', 'default lookup'],
      ['other', 'other'],
    ]);
    // Replaced in place: one lookup, the room's definition, in the default's position.
    expect(over?.tools).toEqual([roomLookup, { name: 'other', description: 'other', parameters: { type: 'object', properties: {} } }]);
    expect(custom.history().find((m) => m.role === 'tool')?.content).toBe('from room handler');
    expect(handled).toEqual(['lookup:{"id":7}']);
    expect(llm.requests[1]?.messages.find((m) => m.role === 'tool')?.content).toBe('from default tool');
  });

  it('event timestamps follow the injected clock from the epoch origin', async () => {
    const clock = new FakeClock(5_000);
    kit = new RoomKit({ clock, epochMs: 1_700_000_000_000 });
    kit.createRoom({ id: 'r' });
    const got: EphemeralEvent[] = [];
    kit.subscribeRoom('r', (e) => got.push(e));
    const first = kit.addMessage('r', 'user', { role: 'user', content: 'a' });
    clock.advance(1_234);
    const second = kit.addMessage('r', 'user', { role: 'user', content: 'b' });
    kit.emitEphemeral('r', 'agent', { type: 'TEXT_DELTA', turnId: 't', delta: 'x' });
    expect([first.timestamp, second.timestamp, got[0]?.timestamp]).toEqual([1_700_000_000_000, 1_700_000_001_234, 1_700_000_001_234]);
  });

  it('binding role selects the tool policy role override', async () => {
    const llm = new ScriptedLlm({ fallback: 'ok' });
    const tool = (name: string) => defineTool({ name, description: name, parameters: z.object({}), run: () => name });
    kit = new RoomKit();
    kit.registerChannel(
      new AiChannel({
        id: 'agent',
        provider: llm,
        tools: [tool('search'), tool('refund')],
        toolPolicy: new ToolPolicy({ roleOverrides: { guest: { deny: ['refund'] } } }),
      }),
    );
    kit.createRoom({ id: 'staff' });
    kit.createRoom({ id: 'guest' });
    kit.attachChannel('staff', 'agent');
    kit.attachChannel('guest', 'agent', { metadata: { role: 'guest' } });
    await kit.userTurn('staff', { text: 'x' }, { streamText: false }).done;
    await kit.userTurn('guest', { text: 'x' }, { streamText: false }).done;
    expect(llm.requests.map((r) => r.tools?.map((t) => t.name))).toEqual([['search', 'refund'], ['search']]);
  });

  it('room-scoped tools (call control) are offered to every agent in the room, handoff targets included', async () => {
    const call = { hungUp: 0, transferredTo: '' };
    const hangUp = defineTool({
      name: 'hang_up',
      description: 'end the call',
      parameters: z.object({}),
      run: (_a, ctx) => (ctx.turn.act(() => call.hungUp++).done ? 'ending' : 'not ending'),
    });
    const transfer = defineTool({
      name: 'transfer_call',
      description: 'blind transfer to a number',
      parameters: z.object({ to: z.string() }),
      run: ({ to }, ctx) => (ctx.turn.act(() => (call.transferredTo = to)).done ? 'transferring' : 'not transferring'),
    });
    const mainLlm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_billing' } }]] });
    const billingLlm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_call', arguments: { to: '+4722000000' } } }, { toolCall: { name: 'hang_up' } }], 'Bye.'] });
    const billing = new Agent({ name: 'billing', instructions: 'billing', provider: billingLlm });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', agent: new Agent({ name: 'main', instructions: 'main', provider: mainLlm, handoffs: [billing] }) }));
    kit.createRoom({ id: 'with-call' });
    kit.createRoom({ id: 'no-call' });
    kit.attachChannel('with-call', 'agent', { tools: [hangUp, transfer] });
    kit.attachChannel('no-call', 'agent');
    const out = await kit.userTurn('with-call', { text: 'billing please' }, { streamText: false }).done;
    expect(out).toMatchObject({ reason: 'stop', agent: 'billing' });
    expect(mainLlm.requests[0]?.tools?.map((t) => t.name)).toEqual(['hang_up', 'transfer_call', 'transfer_to_billing']);
    expect(billingLlm.requests[0]?.tools?.map((t) => t.name)).toEqual(['hang_up', 'transfer_call']);
    expect(call).toEqual({ hungUp: 1, transferredTo: '+4722000000' });
    mainLlm.push('hi');
    await kit.userTurn('no-call', { text: 'x' }, { streamText: false }).done;
    expect(mainLlm.requests[1]?.tools?.map((t) => t.name)).toEqual(['transfer_to_billing']);
  });

  it('with streaming off, each round is delivered whole', async () => {
    const llm = new ScriptedLlm({ chunkSize: 2, turns: ['Hello there'] });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 's', streaming: false }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'agent');
    const turn = kit.userTurn('r', { text: 'hi' });
    const deltas: string[] = [];
    for await (const d of turn.text) deltas.push(d);
    expect(deltas).toEqual(['Hello there']);
  });

  it('a model error ends the turn with reason error; a room without an agent refuses turns', async () => {
    const llm = new ScriptedLlm({ turns: [[{ error: new Error('503 upstream') }]] });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 's' }));
    kit.createRoom({ id: 'r' });
    kit.createRoom({ id: 'empty' });
    kit.attachChannel('r', 'agent');
    const out = await kit.userTurn('r', { text: 'hi' }, { streamText: false }).done;
    expect(out.reason).toBe('error');
    expect(out.error?.message).toBe('503 upstream');
    expect(() => kit?.userTurn('empty', { text: 'hi' })).toThrow(/no intelligence channel/);
  });

  it('closeRoom aborts the running turn and forgets the room', async () => {
    const llm = new ScriptedLlm({ turns: [[{ delayMs: 5_000 }, { text: 'late' }]] });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 's' }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'agent');
    const turn = kit.userTurn('r', { text: 'hi' }, { streamText: false });
    await llm.waitForRequests(1);
    await kit.closeRoom('r');
    expect((await turn.done).reason).toBe('aborted');
    expect(kit.room('r')).toBeUndefined();
  });
});
