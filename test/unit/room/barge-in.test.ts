import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep } from '../../../src/core/abort.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import type { EphemeralEvent } from '../../../src/room/events.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import type { ActResult } from '../../../src/room/turn-generation.ts';

/** A call session stand-in: what the system tools act on. */
class FakeCall {
  hungUp = 0;
  hangUp(): void {
    this.hungUp++;
  }
}

/** A promise the test opens by hand: tools wait on it instead of racing a sleep against the test. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Gates the side-effecting tools wait on before acting (default: act after a short sleep). */
interface Gates {
  hangUp?: Promise<void>;
  endCall?: Promise<void>;
}

function setup(llm: ScriptedLlm, gates: Gates = {}) {
  const call = new FakeCall();
  const started = new Set<string>();
  const startWaiters: Array<{ names: string[]; resolve: () => void }> = [];
  const markStarted = (name: string): void => {
    started.add(name);
    for (const w of startWaiters.filter((x) => x.names.every((n) => started.has(n)))) w.resolve();
  };
  /** Resolves once every named tool has started running (a latch in each handler, not a timer). */
  const whenStarted = (...names: string[]): Promise<void> =>
    names.every((n) => started.has(n)) ? Promise.resolve() : new Promise((resolve) => startWaiters.push({ names, resolve }));
  const acted = { hangUp: latch(), endCall: latch() };
  const log = {
    lookupAborted: false,
    orderCommittedAt: 0,
    hangUpAttempts: [] as Array<ActResult<void>>,
    endCallAttempts: [] as Array<ActResult<void>>,
    hangUpRuns: 0,
  };
  const lookup = defineTool({
    name: 'lookup',
    description: 'slow, interruptible',
    parameters: z.object({ q: z.string() }),
    run: async (_a, ctx) => {
      markStarted('lookup');
      try {
        await sleep(3_000, ctx.signal);
        return 'found';
      } catch (err) {
        log.lookupAborted = ctx.signal.aborted;
        throw err;
      }
    },
  });
  const saveOrder = defineTool({
    name: 'saveOrder',
    description: 'commits an order; must not be cut in half',
    parameters: z.object({ item: z.string() }),
    interruptible: false,
    run: async ({ item }) => {
      markStarted('saveOrder');
      await sleep(150);
      log.orderCommittedAt = performance.now();
      return { saved: item, orderId: 'o-17' };
    },
  });
  // Interruptible, but written carelessly: it ignores its signal and acts late.
  const hangUp = defineTool({
    name: 'hangUp',
    description: 'end the call after the goodbye',
    parameters: z.object({}),
    run: async (_a, ctx) => {
      log.hangUpRuns++;
      markStarted('hangUp');
      await (gates.hangUp ?? sleep(100));
      const r = ctx.turn.act(() => call.hangUp());
      log.hangUpAttempts.push(r);
      acted.hangUp.open();
      return r.done ? 'hung up' : `not hung up: ${r.reason}`;
    },
  });
  // Uninterruptible: it finishes, yet its side effect is refused for a stale turn.
  const endCall = defineTool({
    name: 'endCall',
    description: 'end the call',
    parameters: z.object({}),
    interruptible: false,
    run: async (_a, ctx) => {
      markStarted('endCall');
      await (gates.endCall ?? sleep(80));
      const r = ctx.turn.act(() => call.hangUp());
      log.endCallAttempts.push(r);
      acted.endCall.open();
      return r.done ? 'ended' : `not ended: ${r.reason}`;
    },
  });
  const kit = new RoomKit();
  kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 'You take orders.', tools: [lookup, saveOrder, hangUp, endCall] }));
  const room = kit.createRoom({ id: 'r1' });
  kit.attachChannel('r1', 'agent');
  const events: EphemeralEvent[] = [];
  kit.subscribeRoom('r1', (e) => events.push(e));
  return { kit, room, call, log, events, whenStarted, acted };
}

async function collect(text: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const d of text) out.push(d);
  return out;
}

let kit: RoomKit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

describe('barge-in', () => {
  it('cancels the interruptible tool, commits the uninterruptible result, and a stale hangUp does nothing', async () => {
    const llm = new ScriptedLlm({
      turns: [
        [
          { text: 'One moment.' },
          { toolCall: { id: 't_lookup', name: 'lookup', arguments: { q: 'menu' } } },
          { toolCall: { id: 't_save', name: 'saveOrder', arguments: { item: 'pizza' } } },
          { toolCall: { id: 't_hang', name: 'hangUp', arguments: {} } },
          { toolCall: { id: 't_end', name: 'endCall', arguments: {} } },
        ],
        'Sure, what else?',
      ],
    });
    const gate = latch();
    const s = setup(llm, { hangUp: gate.promise, endCall: gate.promise });
    kit = s.kit;
    const turn1 = s.kit.userTurn('r1', { text: 'one pizza, bye', source: 'call' });
    const spoken1 = collect(turn1.text);
    // Barge in once all four tools are running (each handler reports its start), none has acted yet.
    await s.whenStarted('lookup', 'saveOrder', 'hangUp', 'endCall');
    expect(s.events.some((e) => e.type === 'TOOL_CALL_START')).toBe(true);
    expect(s.log.hangUpAttempts).toEqual([]);
    s.kit.interrupt('r1');
    expect(await spoken1).toEqual(['One moment.']);
    // The caller speaks again at once; the new turn waits for the old one to settle.
    const turn2 = s.kit.userTurn('r1', { text: 'wait, also a salad', source: 'call' });
    // Only now do the late side effects try to act: the turn that issued them is superseded.
    gate.open();
    const spoken2 = await collect(turn2.text);
    const out1 = await turn1.done;
    const out2 = await turn2.done;

    expect(out1.reason).toBe('aborted');
    expect(out2.reason).toBe('stop');
    expect(spoken2).toEqual(['Sure, what else?']);
    expect(turn2.generation).toBe(turn1.generation + 1);

    // Interruptible: cancelled through its AbortSignal.
    expect(s.log.lookupAborted).toBe(true);
    // Uninterruptible: ran to the end and its result is in history.
    expect(s.log.orderCommittedAt).toBeGreaterThan(0);
    // Stale side effects: neither the careless interruptible hangUp nor the uninterruptible endCall acted.
    await s.acted.hangUp.promise;
    await s.acted.endCall.promise;
    expect(s.log.hangUpRuns).toBe(1);
    expect(s.log.hangUpAttempts).toEqual([{ done: false, reason: 'superseded' }]);
    expect(s.log.endCallAttempts).toEqual([{ done: false, reason: 'superseded' }]);
    expect(s.call.hungUp).toBe(0);

    // History: every call has its result, the order result is real, and the new user message follows them.
    const history = s.room.history();
    expect(history.map((m) => (m.role === 'tool' ? `tool:${m.name}` : m.role))).toEqual([
      'user',
      'assistant',
      'tool:lookup',
      'tool:saveOrder',
      'tool:hangUp',
      'tool:endCall',
      'user',
      'assistant',
    ]);
    const toolContent = (name: string): string => {
      const m = history.find((h) => h.role === 'tool' && h.name === name);
      return m?.content ?? '';
    };
    expect(JSON.parse(toolContent('saveOrder'))).toEqual({ saved: 'pizza', orderId: 'o-17' });
    expect(toolContent('lookup')).toMatch(/cancelled/);
    expect(toolContent('hangUp')).toMatch(/cancelled/);
    expect(toolContent('endCall')).toBe('not ended: superseded');
    // The second model request saw that history (system prompt first).
    expect(llm.requests[1]?.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool', 'tool', 'tool', 'user']);

    // The event stream, in order.
    const summary = s.events.map((e) => {
      if (e.type === 'TOOL_CALL_START') return `START ${e.calls.map((c) => c.name).join(',')}`;
      if (e.type === 'TOOL_CALL_END') return `END ${e.name} ${e.status}`;
      if (e.type === 'TURN_ENDED') return `ENDED ${e.reason}`;
      if (e.type === 'TEXT_DELTA') return `TEXT ${e.delta}`;
      return e.type;
    });
    expect(summary.slice(0, 3)).toEqual(['TURN_STARTED', 'TEXT One moment.', 'START lookup,saveOrder,hangUp,endCall']);
    const firstTurn = summary.slice(3, summary.indexOf('ENDED aborted') + 1);
    expect(firstTurn.slice().sort()).toEqual(
      ['END endCall ok', 'END hangUp cancelled', 'END lookup cancelled', 'END saveOrder ok', 'ENDED aborted'].sort(),
    );
    expect(firstTurn.at(-1)).toBe('ENDED aborted');
    expect(summary.slice(summary.indexOf('ENDED aborted') + 1)).toEqual(['TURN_STARTED', 'TEXT Sure, what else?', 'ENDED stop']);
  });

  it('an aborted turn with no successor refuses the side effect as aborted', async () => {
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'endCall' } }]] });
    const gate = latch();
    const s = setup(llm, { endCall: gate.promise });
    kit = s.kit;
    const turn = s.kit.userTurn('r1', { text: 'bye' }, { streamText: false });
    await s.whenStarted('endCall');
    turn.abort();
    gate.open();
    expect((await turn.done).reason).toBe('aborted');
    expect(s.log.endCallAttempts).toEqual([{ done: false, reason: 'aborted' }]);
    expect(s.call.hungUp).toBe(0);
    expect(s.room.history().at(-1)).toMatchObject({ role: 'tool', name: 'endCall', content: 'not ended: aborted' });
  });

  it('a tool call streamed before the abort never starts', async () => {
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'hangUp' } }, { delayMs: 2_000 }, { text: 'never' }]] });
    const s = setup(llm);
    kit = s.kit;
    const turn = s.kit.userTurn('r1', { text: 'bye' });
    await llm.waitForRequests(1);
    await sleep(30);
    turn.abort();
    const out = await turn.done;
    expect(out.reason).toBe('aborted');
    await sleep(150);
    expect(s.log.hangUpRuns).toBe(0);
    expect(s.call.hungUp).toBe(0);
    expect(s.room.history().map((m) => m.role)).toEqual(['user']);
  });

  it('a hangUp in a live turn does act (the guard is not simply always closed)', async () => {
    const llm = new ScriptedLlm({ turns: [[{ text: 'Goodbye!' }, { toolCall: { name: 'hangUp' } }], ''] });
    const s = setup(llm);
    kit = s.kit;
    const turn = s.kit.userTurn('r1', { text: 'bye' }, { streamText: false });
    expect((await turn.done).reason).toBe('stop');
    expect(s.call.hungUp).toBe(1);
    expect(s.log.hangUpAttempts).toEqual([{ done: true, value: undefined }]);
  });

  it('a new turn supersedes the running one: its late side effect is refused as superseded', async () => {
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'endCall' } }], 'Still here.', 'Yes?'] });
    const gate = latch();
    const s = setup(llm, { endCall: gate.promise });
    kit = s.kit;
    const turn1 = s.kit.userTurn('r1', { text: 'bye' }, { streamText: false });
    await s.whenStarted('endCall');
    const turn2 = s.kit.userTurn('r1', { text: 'no wait' }, { streamText: false });
    gate.open();
    expect((await turn1.done).reason).toBe('aborted');
    expect((await turn2.done).reason).toBe('stop');
    expect(s.log.endCallAttempts).toEqual([{ done: false, reason: 'superseded' }]);
    expect(s.call.hungUp).toBe(0);
  });
});
