import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { Agent } from '../../../src/room/agent.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import { handoffToolName } from '../../../src/room/handoff.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';

interface Fixture {
  kit: RoomKit;
  main: ScriptedLlm;
  research: ScriptedLlm;
  billing: ScriptedLlm;
  channel: AiChannel;
  stateSeen: unknown[];
}

let kit: RoomKit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

function setup(options: { researchFallback?: boolean; outputExtractor?: (r: { finalText: string; rounds: number }) => string | undefined } = {}): Fixture {
  const main = new ScriptedLlm({ name: 'main' });
  const research = new ScriptedLlm(options.researchFallback === true ? { name: 'research', fallback: [{ toolCall: { name: 'note_state' } }] } : { name: 'research' });
  const billing = new ScriptedLlm({ name: 'billing' });
  const stateSeen: unknown[] = [];
  const billingAgent = new Agent({ name: 'billing', instructions: 'You handle invoices.', provider: billing });
  const noteState = defineTool({
    name: 'note_state',
    description: 'reads and writes shared state',
    parameters: z.object({}),
    run: (_a, ctx) => {
      stateSeen.push(structuredClone(ctx.state));
      ctx.state['researched'] = true;
      return 'noted';
    },
  });
  // The researcher could hand off to billing on its own; used as a tool it must not.
  const researcher = new Agent({ name: 'researcher', instructions: 'You research plans.', provider: research, tools: [noteState], handoffs: [billingAgent] });
  const mainAgent = new Agent({
    name: 'main',
    instructions: 'You are the front desk.',
    provider: main,
    tools: [
      researcher.asTool({
        name: 'ask_researcher',
        description: 'Ask the research agent',
        ...(options.outputExtractor === undefined ? {} : { outputExtractor: options.outputExtractor }),
      }),
    ],
    handoffs: [billingAgent],
  });
  const channel = new AiChannel({ id: 'desk', agent: mainAgent });
  kit = new RoomKit();
  kit.registerChannel(channel);
  kit.createRoom({ id: 'r', state: { customerId: 'c-42' } });
  kit.attachChannel('r', 'desk');
  kit.addMessage('r', 'call', { role: 'user', content: 'my secret pin is 4321' });
  kit.addMessage('r', 'desk', { role: 'assistant', content: 'Noted.' });
  return { kit, main, research, billing, channel, stateSeen };
}

const flat = (msgs: ReadonlyArray<{ content: string }>): string => msgs.map((m) => m.content).join('\n');

describe('agent as a tool (Chatwoot AgentTool constraints), next to a handoff', () => {
  it('empty handoff registry, shared state only, and control returns to the caller', async () => {
    const f = setup();
    f.main.push([{ toolCall: { id: 'q1', name: 'ask_researcher', arguments: { input: 'find plan prices' } } }], 'The plans are A and B.');
    f.research.push(
      [{ toolCall: { name: 'note_state' } }],
      // It tries to hand off anyway: no such tool in its registry.
      [{ toolCall: { name: 'transfer_to_billing' } }],
      'Plans: A=10, B=20',
    );
    const out = await f.kit.userTurn('r', { text: 'what plans are there?' }, { streamText: false }).done;

    // 1. Empty handoff registry: the transfer tool was never offered, the call failed, billing never ran.
    expect(f.research.requests[0]?.tools?.map((t) => t.name)).toEqual(['note_state']);
    expect(f.research.requests[2]?.messages.find((m) => m.role === 'tool' && m.name === 'transfer_to_billing')?.content).toBe(
      '{"error":"Unknown tool: transfer_to_billing"}',
    );
    expect(f.billing.requests).toHaveLength(0);
    // 3. Shared state only: the sub-agent saw the state, not the conversation (no PIN, no earlier turns).
    const first = f.research.requests[0]?.messages ?? [];
    expect(first.map((m) => m.role)).toEqual(['system', 'user']);
    expect(first[0]?.content).toContain('You research plans.');
    expect(first[0]?.content).toContain('"customerId":"c-42"');
    expect(first[1]?.content).toBe('find plan prices');
    for (const req of f.research.requests) expect(flat(req.messages)).not.toContain('4321');
    expect(f.stateSeen).toEqual([{ customerId: 'c-42' }]);
    expect(f.kit.room('r')?.state).toEqual({ customerId: 'c-42', researched: true });
    // 4. Control returns: the caller got the answer as a tool result and kept the conversation.
    const back = f.main.requests[1]?.messages.find((m) => m.role === 'tool');
    expect(back).toMatchObject({ name: 'ask_researcher', content: 'Plans: A=10, B=20' });
    expect(out).toMatchObject({ reason: 'stop', agent: 'main', text: 'The plans are A and B.' });
    expect(f.channel.activeAgent('r').name).toBe('main');
    // The sub-agent's own messages never enter the room.
    expect(flat(f.kit.room('r')?.history() ?? [])).not.toContain('note_state');
  });

  it('2. at most 3 turns: a sub-agent that keeps calling tools is stopped and reports it', async () => {
    const f = setup({ researchFallback: true });
    f.main.push([{ toolCall: { name: 'ask_researcher', arguments: { input: 'loop forever' } } }], 'Sorry, no answer.');
    const out = await f.kit.userTurn('r', { text: 'q' }, { streamText: false }).done;
    expect(f.research.requests).toHaveLength(3);
    expect(f.main.requests[1]?.messages.find((m) => m.role === 'tool')?.content).toBe('Error: agent researcher produced no output within 3 turns');
    expect(out).toMatchObject({ reason: 'stop', agent: 'main' });
  });

  it('failures and missing output come back as descriptive strings', async () => {
    const f = setup();
    f.main.push(
      [{ toolCall: { name: 'ask_researcher', arguments: { input: 'a' } } }],
      [{ toolCall: { name: 'ask_researcher', arguments: { input: 'b' } } }],
      'done',
    );
    f.research.push([{ error: new Error('model overloaded') }], '   ');
    const out = await f.kit.userTurn('r', { text: 'q' }, { streamText: false }).done;
    const results = f.main.requests.flatMap((r) => r.messages).filter((m) => m.role === 'tool').map((m) => m.content);
    expect(results).toContain('Error: agent researcher failed: model overloaded');
    expect(results).toContain('Error: agent researcher produced no output');
    expect(out.reason).toBe('stop');
  });

  it('outputExtractor picks the output', async () => {
    const f = setup({ outputExtractor: (r) => `[${r.rounds} rounds] ${r.finalText.toUpperCase()}` });
    f.main.push([{ toolCall: { name: 'ask_researcher', arguments: { input: 'x' } } }], 'ok');
    f.research.push('plan a');
    await f.kit.userTurn('r', { text: 'q' }, { streamText: false }).done;
    expect(f.main.requests[1]?.messages.find((m) => m.role === 'tool')?.content).toBe('[0 rounds] PLAN A');
  });

  it('a handoff transfers the conversation with its full history, and the target keeps the room', async () => {
    const f = setup();
    expect(handoffToolName('billing')).toBe('transfer_to_billing');
    expect(handoffToolName('Refund Agent')).toBe('transfer_to_refund_agent');
    f.main.push([{ text: 'Let me get billing.' }, { toolCall: { id: 'h1', name: 'transfer_to_billing' } }]);
    f.billing.push('Billing here, your invoice is paid.', 'Anything else on billing?');
    const events: string[] = [];
    f.kit.subscribeRoom('r', (e) => events.push(e.type === 'TURN_ENDED' ? `ENDED ${e.agent}` : e.type === 'TURN_STARTED' ? `STARTED ${e.agent}` : e.type));
    const out = await f.kit.userTurn('r', { text: 'question about my invoice' }, { streamText: false }).done;
    expect(f.main.requests[0]?.tools?.map((t) => t.name)).toEqual(['ask_researcher', 'transfer_to_billing']);
    // Full history: earlier turns (PIN included), the new question, the transfer call and its result.
    const seen = f.billing.requests[0]?.messages ?? [];
    expect(seen[0]).toEqual({ role: 'system', content: 'You handle invoices.' });
    expect(seen.slice(1).map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'tool']);
    expect(flat(seen)).toContain('4321');
    expect(seen.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'h1', name: 'transfer_to_billing' });
    expect(out).toMatchObject({ reason: 'stop', agent: 'billing', text: 'Let me get billing.Billing here, your invoice is paid.' });
    // The next turn goes straight to billing.
    const out2 = await f.kit.userTurn('r', { text: 'thanks' }, { streamText: false }).done;
    expect(out2.agent).toBe('billing');
    expect(f.main.requests).toHaveLength(1);
    expect(f.channel.activeAgent('r').name).toBe('billing');
    expect(f.kit.room('r')?.events().filter((e) => e.type === 'handoff')).toMatchObject([{ from: 'main', to: 'billing' }]);
    expect(events.filter((e) => e !== 'TEXT_DELTA')).toEqual(['STARTED main', 'TOOL_CALL_START', 'TOOL_CALL_END', 'ENDED billing', 'STARTED billing', 'ENDED billing']);
  });
});
