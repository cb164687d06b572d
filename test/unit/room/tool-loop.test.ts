import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sleep } from '../../../src/core/abort.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import type { ChatMessage } from '../../../src/providers/types.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import { RecordingTracer } from '../../../src/room/span.ts';
import type { Tool } from '../../../src/room/tool.ts';
import { runToolLoop, type ToolLoopEvent } from '../../../src/room/tool-loop.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';

const system: ChatMessage = { role: 'system', content: 'be brief' };
const user: ChatMessage = { role: 'user', content: 'hi' };

function sleeper(name: string, ms: number, log: Array<{ name: string; start: number; end: number }>): Tool {
  return defineTool({
    name,
    description: `sleeps ${ms} ms`,
    parameters: z.object({ tag: z.string() }),
    run: async ({ tag }, ctx) => {
      const start = performance.now();
      await sleep(ms, ctx.signal);
      log.push({ name, start, end: performance.now() });
      return { tag, slept: ms };
    },
  });
}

describe('runToolLoop', () => {
  it('runs two tool calls from one model turn concurrently (their execution intervals overlap)', async () => {
    const log: Array<{ name: string; start: number; end: number }> = [];
    const llm = new ScriptedLlm({
      turns: [
        [
          { text: 'Checking both. ' },
          { toolCall: { id: 'a', name: 'slowA', arguments: { tag: 'A' } } },
          { toolCall: { id: 'b', name: 'slowB', arguments: { tag: 'B' } } },
        ],
        'Both done.',
      ],
    });
    const tracer = new RecordingTracer();
    const events: ToolLoopEvent[] = [];
    const result = await runToolLoop({
      provider: llm,
      messages: [system, user],
      tools: new ToolSet([sleeper('slowA', 150, log), sleeper('slowB', 150, log)]),
      tracer,
      onEvent: (e) => void events.push(e),
    });
    expect(result.reason).toBe('stop');
    expect(result.text).toBe('Checking both. Both done.');
    expect(log).toHaveLength(2);
    const [x, y] = log as [(typeof log)[0], (typeof log)[0]];
    // Overlap: each started before the other ended.
    expect(Math.max(x.start, y.start)).toBeLessThan(Math.min(x.end, y.end));
    const overlapMs = Math.min(x.end, y.end) - Math.max(x.start, y.start);
    expect(overlapMs).toBeGreaterThan(50);
    // One span per call, each ended with its status.
    expect(tracer.spans.map((s) => [s.name, s.attributes['tool.name'], s.status, s.endMs !== undefined])).toEqual([
      ['room.tool_call', 'slowA', 'ok', true],
      ['room.tool_call', 'slowB', 'ok', true],
    ]);
    // The second request carries the assistant calls and both results, in call order.
    const second = llm.requests[1]?.messages ?? [];
    expect(second.slice(2).map((m) => m.role)).toEqual(['assistant', 'tool', 'tool']);
    expect(second.slice(3).map((m) => (m.role === 'tool' ? m.toolCallId : ''))).toEqual(['a', 'b']);
    expect(events.map((e) => e.type)).toEqual(['text', 'tool_calls', 'tool_result', 'tool_result', 'text', 'done']);
  });

  it('returns a structured error for arguments that fail the schema, without running the tool', async () => {
    let ran = 0;
    const tool = defineTool({
      name: 'book',
      description: 'book a table',
      parameters: z.object({ people: z.number().int().min(1), day: z.enum(['fri', 'sat']) }),
      run: () => {
        ran++;
        return 'booked';
      },
    });
    const llm = new ScriptedLlm({
      turns: [
        [
          { toolCall: { id: 'c1', name: 'book', arguments: { people: 'four', day: 'sun' } } },
          { toolCall: { id: 'c2', name: 'book', arguments: '{not json' } },
        ],
        'Sorry.',
      ],
    });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet([tool]) });
    expect(result.reason).toBe('stop');
    expect(ran).toBe(0);
    const tools = result.messages.filter((m) => m.role === 'tool');
    const first = JSON.parse(tools[0]?.content ?? '{}') as { error: string; issues: Array<{ path: string; message: string }> };
    expect(first.error).toBe('Invalid arguments for tool book');
    expect(first.issues.map((i) => i.path).sort()).toEqual(['/day', '/people']);
    expect(JSON.parse(tools[1]?.content ?? '{}').issues[0].message).toMatch(/not valid JSON/);
  });

  it('turns a throwing handler into an error result and keeps looping', async () => {
    const tool = defineTool({
      name: 'explode',
      description: 'fails',
      parameters: z.object({}),
      run: () => {
        throw new Error('database down');
      },
    });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'explode' } }], 'It failed.'] });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet([tool]) });
    expect(result.reason).toBe('stop');
    const toolMsg = result.messages.find((m) => m.role === 'tool');
    expect(JSON.parse(toolMsg?.content ?? '{}')).toEqual({ error: 'Tool explode failed: database down', tool: 'explode' });
  });

  it('stops at maxToolRounds with a clear reason and no dangling call in history', async () => {
    let calls = 0;
    const tool = defineTool({ name: 'again', description: 'x', parameters: z.object({}), run: () => String(++calls) });
    const llm = new ScriptedLlm({ fallback: [{ toolCall: { name: 'again' } }] });
    const result = await runToolLoop({
      provider: llm,
      messages: [system, user],
      tools: new ToolSet([tool]),
      limits: { maxToolRounds: 3 },
    });
    expect(result.reason).toBe('max_tool_rounds');
    expect(result.rounds).toBe(3);
    expect(calls).toBe(3);
    expect(llm.requests).toHaveLength(4);
    const assistantCalls = result.messages.filter((m) => m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0).length;
    expect(assistantCalls).toBe(result.messages.filter((m) => m.role === 'tool').length);
  });

  it('warns once at toolLoopWarnAfter', async () => {
    const tool = defineTool({ name: 'again', description: 'x', parameters: z.object({}), run: () => 'ok' });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'again' } }], [{ toolCall: { name: 'again' } }], [{ toolCall: { name: 'again' } }], 'done'] });
    const events: ToolLoopEvent[] = [];
    const result = await runToolLoop({
      provider: llm,
      messages: [system, user],
      tools: new ToolSet([tool]),
      limits: { toolLoopWarnAfter: 2 },
      onEvent: (e) => void events.push(e),
    });
    expect(result.reason).toBe('stop');
    expect(events.filter((e) => e.type === 'warning')).toEqual([{ type: 'warning', message: 'tool loop reached 2 rounds', round: 2 }]);
  });

  it('ends with reason timeout when toolLoopTimeoutSeconds passes, cancelling the running tool', async () => {
    let sawAbort = false;
    const tool = defineTool({
      name: 'slow',
      description: 'x',
      parameters: z.object({}),
      run: async (_args, ctx) => {
        try {
          await sleep(5_000, ctx.signal);
        } catch (err) {
          sawAbort = true;
          throw err;
        }
      },
    });
    const llm = new ScriptedLlm({ fallback: [{ toolCall: { name: 'slow' } }] });
    const started = performance.now();
    const result = await runToolLoop({
      provider: llm,
      messages: [system, user],
      tools: new ToolSet([tool]),
      limits: { toolLoopTimeoutSeconds: 0.2 },
    });
    expect(result.reason).toBe('timeout');
    expect(sawAbort).toBe(true);
    expect(performance.now() - started).toBeLessThan(4_000);
    const toolMsg = result.messages.find((m) => m.role === 'tool');
    expect(toolMsg?.content).toMatch(/cancelled/);
  });

  it('ends with reason timeout while the model itself is slow', async () => {
    const llm = new ScriptedLlm({ turns: [[{ delayMs: 5_000 }, { text: 'late' }]] });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet(), limits: { toolLoopTimeoutSeconds: 0.1 } });
    expect(result.reason).toBe('timeout');
    expect(result.text).toBe('');
  });

  it('ends with reason timeout while the event consumer never returns (text backpressure), and hands it the signal', async () => {
    const llm = new ScriptedLlm({ turns: [[{ text: 'a' }, { text: 'b' }]] });
    const signals: AbortSignal[] = [];
    const outcome = await Promise.race([
      runToolLoop({
        provider: llm,
        messages: [system, user],
        tools: new ToolSet(),
        limits: { toolLoopTimeoutSeconds: 0.1 },
        onEvent: (e, signal) => {
          signals.push(signal);
          return e.type === 'text' ? new Promise<void>(() => {}) : undefined;
        },
      }),
      new Promise<string>((r) => setTimeout(() => r('hung on the consumer'), 3_000)),
    ]);
    expect(outcome).toMatchObject({ reason: 'timeout', text: 'a' });
    expect(signals.length).toBeGreaterThan(0);
    expect(signals.every((s) => s.aborted)).toBe(true);
  });

  it('a null timeout disables the loop deadline', async () => {
    const llm = new ScriptedLlm({ turns: [[{ delayMs: 150 }, { text: 'fine' }]] });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet(), limits: { toolLoopTimeoutSeconds: null } });
    expect(result).toMatchObject({ reason: 'stop', text: 'fine' });
  });

  it('times out a single tool under its own timeout', async () => {
    const tool: Tool = {
      definition: { name: 'hang', description: 'never answers', parameters: { type: 'object' } },
      timeoutMs: 50,
      handler: () => new Promise<string>(() => {}),
    };
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'hang' } }], 'gave up'] });
    const events: ToolLoopEvent[] = [];
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet([tool]), onEvent: (e) => void events.push(e) });
    expect(result.reason).toBe('stop');
    const end = events.find((e) => e.type === 'tool_result');
    expect(end?.type === 'tool_result' && end.outcome.status).toBe('timeout');
    expect(result.messages.find((m) => m.role === 'tool')?.content).toMatch(/timed out after 50 ms/);
  });

  it('truncates a huge result with a visible marker before it reaches history', async () => {
    const huge = 'x'.repeat(200_000);
    const tool = defineTool({ name: 'dump', description: 'x', parameters: z.object({}), run: () => huge });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'dump' } }], 'ok'] });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet([tool]), maxResultTokens: 1_000 });
    const content = result.messages.find((m) => m.role === 'tool')?.content ?? '';
    expect(content.startsWith('x'.repeat(4_000))).toBe(true);
    expect(content).toMatch(/\[TRUNCATED: tool result exceeded ~1000 tokens; 196000 of 200000 characters/);
    const seen = llm.requests[1]?.messages.find((m) => m.role === 'tool')?.content;
    expect(seen).toBe(content);
  });

  it('does not offer policy-blocked tools and refuses a call to one without running it', async () => {
    let ran = false;
    const blocked = defineTool({
      name: 'admin_delete',
      description: 'x',
      parameters: z.object({}),
      run: () => {
        ran = true;
      },
    });
    const open = defineTool({ name: 'lookup', description: 'x', parameters: z.object({}), run: () => 'found' });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'admin_delete' } }, { toolCall: { name: 'lookup' } }], 'done'] });
    const events: ToolLoopEvent[] = [];
    const result = await runToolLoop({
      provider: llm,
      messages: [system, user],
      tools: new ToolSet([blocked, open]),
      policy: new ToolPolicy({ deny: ['admin_*'] }),
      onEvent: (e) => void events.push(e),
    });
    expect(llm.requests[0]?.tools?.map((t) => t.name)).toEqual(['lookup']);
    expect(ran).toBe(false);
    const results = events.flatMap((e) => (e.type === 'tool_result' ? [[e.outcome.call.name, e.outcome.status]] : []));
    expect(results.sort()).toEqual([
      ['admin_delete', 'refused'],
      ['lookup', 'ok'],
    ]);
    expect(result.messages.find((m) => m.role === 'tool' && m.name === 'admin_delete')?.content).toMatch(/not permitted/);
  });

  it('ends with reason error when the model stream fails, keeping the text so far', async () => {
    const llm = new ScriptedLlm({ turns: [[{ text: 'Hel' }, { error: new Error('connection reset') }]] });
    const result = await runToolLoop({ provider: llm, messages: [system, user], tools: new ToolSet() });
    expect(result.reason).toBe('error');
    expect(result.error?.message).toBe('connection reset');
    expect(result.text).toBe('Hel');
    expect(result.messages).toEqual([]);
  });
});
