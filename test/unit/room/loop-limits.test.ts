import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.ts';
import { ConfigError } from '../../../src/core/errors.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { Agent } from '../../../src/room/agent.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import { DEFAULT_LOOP_LIMITS, resolveLoopLimits, type ToolLoopLimits } from '../../../src/room/loop-limits.ts';
import type { Tool } from '../../../src/room/tool.ts';
import { runToolLoop, type ToolLoopResult } from '../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';

const user = { role: 'user' as const, content: 'go' };
/** Limits as a caller with optional fields (exactOptionalPropertyTypes off, or plain JS) may pass them. */
const loose = (l: Record<string, unknown>): Partial<ToolLoopLimits> => l as Partial<ToolLoopLimits>;

/** A tool that counts its calls; it yields to the event loop so a runaway loop still meets its timers. */
function counter(): { tool: Tool; count: () => number } {
  let n = 0;
  const run = async (): Promise<string> => {
    await new Promise((r) => setImmediate(r));
    return String(++n);
  };
  return { tool: defineTool({ name: 'again', description: 'x', parameters: z.object({}), run }), count: () => n };
}

describe('resolveLoopLimits', () => {
  it('merges field by field: undefined keeps the lower layer or the default, null disables the timeout', () => {
    expect(resolveLoopLimits()).toEqual(DEFAULT_LOOP_LIMITS);
    expect(resolveLoopLimits(loose({ maxToolRounds: undefined, toolLoopTimeoutSeconds: undefined, toolLoopWarnAfter: undefined }))).toEqual(DEFAULT_LOOP_LIMITS);
    expect(resolveLoopLimits(loose({ maxToolRounds: undefined }), { maxToolRounds: 7 })).toMatchObject({ maxToolRounds: 7 });
    expect(resolveLoopLimits({ maxToolRounds: 3 }, { maxToolRounds: 7, toolLoopWarnAfter: 2 })).toEqual({
      maxToolRounds: 3,
      toolLoopTimeoutSeconds: 300,
      toolLoopWarnAfter: 2,
    });
    expect(resolveLoopLimits({ toolLoopTimeoutSeconds: null }, { toolLoopTimeoutSeconds: 5 }).toolLoopTimeoutSeconds).toBeNull();
    expect(resolveLoopLimits({ maxToolRounds: 0 }).maxToolRounds).toBe(0);
  });

  it.each([
    [{ maxToolRounds: -1 }, /maxToolRounds must be an integer >= 0 \(got -1\)/],
    [{ maxToolRounds: 1.5 }, /maxToolRounds/],
    [{ maxToolRounds: Infinity }, /maxToolRounds/],
    [{ maxToolRounds: '5' }, /maxToolRounds must be an integer >= 0 \(got "5"\)/],
    [{ toolLoopWarnAfter: 0 }, /toolLoopWarnAfter must be an integer >= 1/],
    [{ toolLoopTimeoutSeconds: 0 }, /toolLoopTimeoutSeconds must be a positive finite number of seconds or null \(got 0\)/],
    [{ toolLoopTimeoutSeconds: -3 }, /toolLoopTimeoutSeconds/],
    [{ toolLoopTimeoutSeconds: Number.NaN }, /toolLoopTimeoutSeconds .*got NaN/],
    [{ toolLoopTimeoutSeconds: Infinity }, /toolLoopTimeoutSeconds/],
  ])('refuses %j with a clear ConfigError', (bad, message) => {
    expect(() => resolveLoopLimits(loose(bad))).toThrow(ConfigError);
    expect(() => resolveLoopLimits(loose(bad))).toThrow(message);
  });
});

describe('limits in the loop and the agent', () => {
  it('maxToolRounds: undefined keeps the default 200 (a spread would erase it and never stop)', async () => {
    const { tool, count } = counter();
    const llm = new ScriptedLlm({ fallback: [{ toolCall: { name: 'again' } }] });
    const result = await runToolLoop({ provider: llm, messages: [user], tools: new ToolSet([tool]), limits: loose({ maxToolRounds: undefined, toolLoopTimeoutSeconds: 2 }) });
    expect(result).toMatchObject({ reason: 'max_tool_rounds', rounds: 200 });
    expect(count()).toBe(200);
  });

  it('toolLoopTimeoutSeconds: undefined keeps the default 300 s deadline (not NaN, not disabled)', async () => {
    const clock = new FakeClock();
    const started: Array<() => void> = [];
    const waiter = defineTool({
      name: 'wait',
      description: 'waits for the loop to give up',
      parameters: z.object({}),
      run: (_a, ctx) =>
        new Promise<string>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
          for (const s of started.splice(0)) s();
        }),
    });
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'wait' } }], 'never'] });
    const isStarted = new Promise<void>((resolve) => started.push(resolve));
    let settled: ToolLoopResult | undefined;
    const running = runToolLoop({
      provider: llm,
      messages: [user],
      tools: new ToolSet([waiter]),
      clock,
      toolTimeoutMs: 10_000_000,
      limits: loose({ toolLoopTimeoutSeconds: undefined }),
    }).then((r) => (settled = r));
    await isStarted;
    clock.advance(299_999);
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBeUndefined();
    clock.advance(1);
    const outcome = await Promise.race([running, new Promise<string>((r) => setTimeout(() => r('no deadline fired'), 2_000))]);
    expect(outcome).toMatchObject({ reason: 'timeout', rounds: 1 });
  });

  it('an invalid limit ends the loop with reason error and a ConfigError, without calling the model', async () => {
    const llm = new ScriptedLlm({ fallback: 'hi' });
    const result = await runToolLoop({ provider: llm, messages: [user], tools: new ToolSet(), limits: { toolLoopTimeoutSeconds: -1 } });
    expect(result.reason).toBe('error');
    expect(result.error).toBeInstanceOf(ConfigError);
    expect(result.error?.message).toMatch(/toolLoopTimeoutSeconds/);
    expect(llm.requests).toHaveLength(0);
  });

  it('an agent or AI channel with invalid limits fails at construction; run overrides merge per field', async () => {
    const llm = new ScriptedLlm({ fallback: [{ toolCall: { name: 'again' } }] });
    expect(() => new Agent({ name: 'a', instructions: 'i', provider: llm, limits: { maxToolRounds: -2 } })).toThrow(ConfigError);
    expect(() => new AiChannel({ id: 'c', provider: llm, limits: { toolLoopWarnAfter: 0 } })).toThrow(/toolLoopWarnAfter/);
    const { tool, count } = counter();
    const agent = new Agent({ name: 'a', instructions: 'i', provider: llm, tools: [tool], limits: { maxToolRounds: 2, toolLoopTimeoutSeconds: 2 } });
    // The run passes the field as undefined: the agent's own 2 still applies.
    const out = await agent.run({ history: [user], limits: loose({ maxToolRounds: undefined }) });
    expect(out).toMatchObject({ reason: 'max_tool_rounds', rounds: 2 });
    expect(count()).toBe(2);
    const bad = await agent.run({ history: [user], limits: { toolLoopTimeoutSeconds: 0 } });
    expect(bad.reason).toBe('error');
    expect(bad.error).toBeInstanceOf(ConfigError);
  });
});
