import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeClock } from '../../../src/core/clock.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { Agent } from '../../../src/room/agent.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import type { Tool } from '../../../src/room/tool.ts';

const user = { role: 'user' as const, content: 'help' };

/** A tool whose calls each wait until the test releases them (or their signal aborts). */
function gatedWork(): { tool: Tool; started: (n: number) => Promise<void>; release: () => void; cancelled: () => number } {
  let starts = 0;
  let cancelled = 0;
  const waiting: Array<() => void> = [];
  const watchers: Array<{ n: number; resolve: () => void }> = [];
  const tool = defineTool({
    name: 'work',
    description: 'slow work',
    parameters: z.object({}),
    run: (_a, ctx) =>
      new Promise<string>((resolve, reject) => {
        let settled = false;
        waiting.push(() => {
          settled = true;
          resolve('worked');
        });
        ctx.signal.addEventListener(
          'abort',
          () => {
            if (settled) return;
            settled = true;
            cancelled++;
            reject(ctx.signal.reason as Error);
          },
          { once: true },
        );
        starts++;
        for (const w of watchers.filter((x) => x.n <= starts)) w.resolve();
      }),
  });
  return {
    tool,
    started: (n) => (starts >= n ? Promise.resolve() : new Promise((resolve) => watchers.push({ n, resolve }))),
    release: () => {
      for (const w of waiting.splice(0)) w();
    },
    cancelled: () => cancelled,
  };
}

describe('handoffs share one budget', () => {
  it('one deadline across hops: the target agent does not get a fresh toolLoopTimeoutSeconds', async () => {
    const clock = new FakeClock();
    const work = gatedWork();
    const billingLlm = new ScriptedLlm({ name: 'billing', turns: [[{ toolCall: { name: 'work' } }], 'Billing done.'] });
    const billing = new Agent({ name: 'billing', instructions: 'b', provider: billingLlm, tools: [work.tool], toolTimeoutMs: 10_000_000 });
    const frontLlm = new ScriptedLlm({ name: 'front', turns: [[{ toolCall: { name: 'work' } }], [{ toolCall: { name: 'transfer_to_billing' } }]] });
    const front = new Agent({
      name: 'front',
      instructions: 'f',
      provider: frontLlm,
      tools: [work.tool],
      handoffs: [billing],
      toolTimeoutMs: 10_000_000,
      limits: { toolLoopTimeoutSeconds: 1 },
    });
    const running = front.run({ history: [user], clock });
    await work.started(1);
    clock.advance(600);
    work.release();
    // Billing's first call starts 600 ms into the run; 600 more is past the run's 1 s deadline.
    await work.started(2);
    clock.advance(600);
    // Were the deadline per hop, billing would still have 400 ms: release it so the test cannot hang.
    work.release();
    const out = await running;
    expect(out.reason).toBe('timeout');
    expect(out.agent.name).toBe('billing');
    expect(work.cancelled()).toBe(1);
    expect(billingLlm.requests).toHaveLength(1);
  });

  it('one round budget across hops: rounds spent before the handoff count for the target', async () => {
    let billingWork = 0;
    const billingTool = defineTool({ name: 'lookup_invoice', description: 'x', parameters: z.object({}), run: () => String(++billingWork) });
    const frontTool = defineTool({ name: 'note', description: 'x', parameters: z.object({}), run: () => 'noted' });
    const billingLlm = new ScriptedLlm({ name: 'billing', fallback: [{ toolCall: { name: 'lookup_invoice' } }] });
    const billing = new Agent({ name: 'billing', instructions: 'b', provider: billingLlm, tools: [billingTool] });
    const frontLlm = new ScriptedLlm({
      name: 'front',
      turns: [[{ toolCall: { name: 'note' } }], [{ toolCall: { name: 'note' } }], [{ toolCall: { name: 'transfer_to_billing' } }]],
    });
    const front = new Agent({ name: 'front', instructions: 'f', provider: frontLlm, tools: [frontTool], handoffs: [billing], limits: { maxToolRounds: 4 } });
    const out = await front.run({ history: [user] });
    // 3 rounds at the front desk (the handoff is one), 1 left for billing, then the shared limit.
    expect(out).toMatchObject({ reason: 'max_tool_rounds', rounds: 4 });
    expect(out.agent.name).toBe('billing');
    expect(billingWork).toBe(1);
    expect(billingLlm.requests).toHaveLength(2);
  });
});
