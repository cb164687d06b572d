/**
 * Client tools over the call's own WebSocket: a real tool loop (src/room, scripted model) invokes a client
 * tool through `leg.clientTools`; a plain `ws` client answers over the socket. Time for the loop runs on a
 * fake clock (a 60 s answer takes no 60 s), while every byte crosses a real socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLeg, LegEnd } from '../../../../src/call/call-leg.ts';
import { FakeClock } from '../../../../src/core/clock.ts';
import { ScriptedLlm, type ScriptedTurn } from '../../../../src/providers/mock/scripted-llm.ts';
import { clientTool, type ClientToolOptions } from '../../../../src/room/client-tool.ts';
import { runToolLoop, type ToolLoopResult } from '../../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../../src/room/tool-set.ts';
import { startWsHarness, type WsHarness } from '../../../support/ws-harness.ts';
import { WsTestClient } from '../../../support/ws-test-client.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface ToolCall {
  readonly h: WsHarness;
  readonly client: WsTestClient;
  readonly llm: ScriptedLlm;
  readonly clock: FakeClock;
  readonly result: Promise<ToolLoopResult>;
  readonly leg: Promise<CallLeg>;
}

/** A call whose session is one tool loop: the model calls `show_map`, a client tool, on this call's socket. */
async function callWithTool(turns: ScriptedTurn[], tool: Partial<ClientToolOptions> = {}): Promise<ToolCall> {
  const clock = new FakeClock();
  const llm = new ScriptedLlm({ turns });
  let resolveResult!: (r: ToolLoopResult) => void;
  const result = new Promise<ToolLoopResult>((r) => (resolveResult = r));
  let resolveLeg!: (leg: CallLeg) => void;
  const legP = new Promise<CallLeg>((r) => (resolveLeg = r));
  const h = await startWsHarness({
    joinCall: async (_callId, leg) => {
      await leg.answer();
      resolveLeg(leg);
      const connection = leg.clientTools;
      if (connection === undefined) throw new Error('the WebSocket leg carries client tools');
      const showMap = clientTool(
        {
          name: 'show_map',
          description: 'Show a map in the app',
          dynamicParameters: [{ name: 'city', location: 'body', type: 'string', required: true }],
          ...tool,
        },
        connection,
      );
      resolveResult(
        await runToolLoop({
          provider: llm,
          messages: [{ role: 'user', content: 'show me Oslo' }],
          tools: new ToolSet([showMap]),
          clock,
          limits: { toolLoopTimeoutSeconds: 3600 },
        }),
      );
    },
  });
  cleanup.push(() => h.close());
  const client = await WsTestClient.connect(h.joinUrl('call-1'));
  cleanup.push(() => client.close());
  await client.next('call_started');
  return { h, client, llm, clock, result, leg: legP };
}

/** Move the loop's fake time forward in steps, letting socket and promise work run between them. */
async function advance(clock: FakeClock, ms: number, step = 5_000): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 2));
  }
}

const toolMessage = (r: ToolLoopResult): unknown => JSON.parse(r.messages.find((m) => m.role === 'tool')?.content ?? 'null');

describe('client tools on the WebSocket connection', () => {
  it('a client tool answered after 60 s still reaches the model', async () => {
    const t = await callWithTool([[{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }], 'Here is Oslo.']);
    const inv = await t.client.next('client_tool_invocation');
    expect(inv).toMatchObject({ toolName: 'show_map', parameters: { city: 'Oslo' } });
    expect(inv['invocationId']).toMatch(/^[0-9a-f-]{36}$/);
    await advance(t.clock, 60_000);
    // Nothing answered for the client in that minute: no deadline, no cancellation.
    expect(t.client.all('error')).toEqual([]);
    t.client.sendJson({ type: 'client_tool_result', invocationId: inv['invocationId'], result: '{"shown":true,"after":"60s"}' });
    const r = await t.result;
    expect(r.reason).toBe('stop');
    expect(toolMessage(r)).toEqual({ shown: true, after: '60s' });
    await t.llm.waitForRequests(2);
    expect(JSON.stringify(t.llm.requests[1]?.messages)).toContain('\\"after\\":\\"60s\\"');
    expect(r.finalText).toBe('Here is Oslo.');
  });

  it('error results reach the model as errors (implementation-error, undefined)', async () => {
    const t = await callWithTool([
      [{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }],
      [{ toolCall: { name: 'show_map', arguments: { city: 'Rome' } } }],
      'Sorry.',
    ]);
    const first = await t.client.next('client_tool_invocation');
    t.client.sendJson({ type: 'client_tool_result', invocationId: first['invocationId'], errorType: 'implementation-error', errorMessage: 'map widget crashed' });
    const second = await t.client.next('client_tool_invocation', 5000, (m) => m['invocationId'] !== first['invocationId']);
    t.client.sendJson({ type: 'client_tool_result', invocationId: second['invocationId'], errorType: 'undefined' });
    const r = await t.result;
    const tools = r.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content));
    expect(tools).toEqual([
      { error: 'map widget crashed', tool: 'show_map', errorType: 'implementation-error' },
      { error: 'the client does not implement tool show_map', tool: 'show_map', errorType: 'undefined' },
    ]);
  });

  it('a configured per-tool deadline expires: the model gets an error, the client is told, a late answer is reported', async () => {
    const t = await callWithTool([[{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }], 'It took too long.'], { timeoutMs: 5_000 });
    const inv = await t.client.next('client_tool_invocation');
    await advance(t.clock, 4_000, 1_000);
    expect(t.client.all('error')).toEqual([]);
    await advance(t.clock, 1_000);
    const r = await t.result;
    expect(toolMessage(r)).toEqual({ error: 'the client did not answer within 5000 ms', tool: 'show_map' });
    expect(await t.client.next('error')).toMatchObject({ code: 'client_tool_cancelled', invocationId: inv['invocationId'] });
    t.client.sendJson({ type: 'client_tool_result', invocationId: inv['invocationId'], result: 'too late' });
    expect(await t.client.next('error', 2000, (m) => m['code'] !== 'client_tool_cancelled')).toMatchObject({
      code: 'invocation_not_pending',
      invocationId: inv['invocationId'],
    });
  });

  it('a call that ends with an invocation outstanding gives the model a clear error', async () => {
    const t = await callWithTool([[{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }], 'Goodbye.']);
    await t.client.next('client_tool_invocation');
    t.client.sendJson({ type: 'hang_up' });
    const r = await t.result;
    expect(toolMessage(r)).toEqual({ error: 'the client disconnected before answering', tool: 'show_map' });
    expect(await (await t.leg).ended).toMatchObject({ reason: 'remote-hangup' });
  });

  it('a client that vanishes with an invocation outstanding: the same error, and the leg ends with a detail', async () => {
    const t = await callWithTool([[{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }], 'Goodbye.']);
    await t.client.next('client_tool_invocation');
    t.client.ws.terminate();
    const r = await t.result;
    expect(toolMessage(r)).toEqual({ error: 'the client disconnected before answering', tool: 'show_map' });
    const end: LegEnd = await (await t.leg).ended;
    expect(end.reason).toBe('error');
    expect(end.detail).toMatch(/connection lost/);
  });

  it('responseType hang-up delivers the result, then ends the call', async () => {
    const t = await callWithTool([[{ toolCall: { name: 'show_map', arguments: { city: 'Oslo' } } }], 'Bye.']);
    const inv = await t.client.next('client_tool_invocation');
    t.client.sendJson({ type: 'client_tool_result', invocationId: inv['invocationId'], result: 'done', responseType: 'hang-up' });
    const r = await t.result;
    expect(r.messages.find((m) => m.role === 'tool')?.content).toBe('done');
    expect(await t.client.next('call_ended')).toMatchObject({ reason: 'remote-hangup', detail: 'a client tool result asked to hang up' });
  });
});
