/**
 * The client-tool deadline rule: no per-call deadline unless one is configured (a person may be working
 * on the invocation), bounded by the call ending and the tool loop's overall limit; the medium hears
 * when the room stops waiting.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { clientTool, type ClientToolConnection, type ClientToolInvocation, type ClientToolResponse } from '../../../src/room/client-tool.ts';
import { runToolLoop, type ToolLoopEvent } from '../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';

class FakeClient implements ClientToolConnection {
  connected = true;
  readonly sent: ClientToolInvocation[] = [];
  readonly cancelled: Array<{ id: string; reason: string }> = [];
  #responses = new Set<(r: ClientToolResponse) => void>();
  #disconnects = new Set<() => void>();
  #waiters: Array<() => void> = [];
  send(invocation: ClientToolInvocation): void {
    this.sent.push(invocation);
    for (const w of this.#waiters.splice(0)) w();
  }
  onResponse(listener: (r: ClientToolResponse) => void): () => void {
    this.#responses.add(listener);
    return () => this.#responses.delete(listener);
  }
  onDisconnect(listener: () => void): () => void {
    this.#disconnects.add(listener);
    return () => this.#disconnects.delete(listener);
  }
  cancel(id: string, reason: 'timeout' | 'cancelled'): void {
    this.cancelled.push({ id, reason });
  }
  respond(r: ClientToolResponse): void {
    for (const l of [...this.#responses]) l(r);
  }
  disconnect(): void {
    this.connected = false;
    for (const l of [...this.#disconnects]) l();
  }
  get listeners(): number {
    return this.#responses.size + this.#disconnects.size;
  }
  invoked(): Promise<ClientToolInvocation> {
    const last = this.sent.at(-1);
    if (last !== undefined) return Promise.resolve(last);
    return new Promise((resolve) => this.#waiters.push(() => resolve(this.sent.at(-1) as ClientToolInvocation)));
  }
}

const transfer = (client: FakeClient, options: { timeoutMs?: number; interruptible?: boolean } = {}) =>
  clientTool({ name: 'transfer_to_human', description: 'A person takes the call over', ...options }, client);

/** Let queued promise work run (the fake clock moves no real time). */
const settle = () => new Promise((r) => setTimeout(r, 5));

describe('client tool deadlines', () => {
  it('has no per-call deadline by default: an answer after 10 minutes still reaches the model', async () => {
    const client = new FakeClient();
    const tool = transfer(client);
    expect(tool.timeoutMs).toBe(Number.POSITIVE_INFINITY);
    const clock = new FakeClock();
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }], 'Done.'] });
    const loop = runToolLoop({
      provider: llm,
      messages: [{ role: 'user', content: 'a person please' }],
      tools: new ToolSet([tool]),
      clock,
      limits: { toolLoopTimeoutSeconds: 3600 },
    });
    const inv = await client.invoked();
    // Past the old 10 s client deadline and the executor's 30 s default, in steps.
    for (let i = 0; i < 60; i++) {
      clock.advance(10_000);
      await settle();
    }
    client.respond({ invocationId: inv.invocationId, result: '{"transferred":true}' });
    const result = await loop;
    expect(result.reason).toBe('stop');
    expect(result.messages.find((m) => m.role === 'tool')?.content).toBe('{"transferred":true}');
    expect(JSON.stringify(llm.requests[1]?.messages)).toContain('transferred');
    expect(client.cancelled).toEqual([]);
    expect(client.listeners).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('on the system clock no deadline means no timer at all (Node would fire an Infinity timeout after 1 ms)', async () => {
    const client = new FakeClient();
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }], 'ok'] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client)]),
    });
    const inv = await client.invoked();
    await new Promise((r) => setTimeout(r, 100));
    client.respond({ invocationId: inv.invocationId, result: 'late but fine' });
    const result = await loop;
    expect(result.messages.find((m) => m.role === 'tool')?.content).toBe('late but fine');
  });

  it('a configured deadline expires with a clear error and tells the medium', async () => {
    const client = new FakeClient();
    const clock = new FakeClock();
    const events: ToolLoopEvent[] = [];
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }], 'Sorry.'] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client, { timeoutMs: 45_000 })]),
      clock,
      onEvent: (e) => void events.push(e),
    });
    const inv = await client.invoked();
    clock.advance(44_999);
    await settle();
    expect(client.cancelled).toEqual([]);
    clock.advance(1);
    const result = await loop;
    expect(JSON.parse(result.messages.find((m) => m.role === 'tool')?.content ?? '{}')).toEqual({
      error: 'the client did not answer within 45000 ms',
      tool: 'transfer_to_human',
    });
    expect(client.cancelled).toEqual([{ id: inv.invocationId, reason: 'timeout' }]);
    const outcome = events.find((e) => e.type === 'tool_result');
    expect(outcome?.type === 'tool_result' && outcome.outcome.status).toBe('ok');
    expect(client.listeners).toBe(0);
  });

  it("an uninterruptible call without a deadline is still ended by the tool loop's overall limit", async () => {
    const client = new FakeClient();
    const clock = new FakeClock();
    const events: ToolLoopEvent[] = [];
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }]] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client, { interruptible: false })]),
      clock,
      limits: { toolLoopTimeoutSeconds: 120 },
      onEvent: (e) => void events.push(e),
    });
    const inv = await client.invoked();
    clock.advance(119_000);
    await settle();
    expect(events.some((e) => e.type === 'tool_result')).toBe(false);
    clock.advance(1_000);
    const result = await loop;
    expect(result.reason).toBe('timeout');
    const tool = result.messages.find((m) => m.role === 'tool');
    expect(JSON.parse(tool?.content ?? '{}').error).toBe("Tool transfer_to_human was stopped at the tool loop's time limit");
    const outcome = events.find((e) => e.type === 'tool_result');
    expect(outcome?.type === 'tool_result' && outcome.outcome.status).toBe('timeout');
    expect(client.cancelled).toEqual([{ id: inv.invocationId, reason: 'cancelled' }]);
    expect(client.listeners).toBe(0);
  });

  it('barge-in does not cancel an uninterruptible client tool; its answer is committed', async () => {
    const client = new FakeClient();
    const clock = new FakeClock();
    const bargeIn = new AbortController();
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }]] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client, { interruptible: false })]),
      clock,
      signal: bargeIn.signal,
    });
    const inv = await client.invoked();
    bargeIn.abort(new Error('caller spoke'));
    await settle();
    client.respond({ invocationId: inv.invocationId, result: 'held' });
    const result = await loop;
    expect(result.reason).toBe('aborted');
    expect(result.messages.find((m) => m.role === 'tool')?.content).toBe('held');
    expect(client.cancelled).toEqual([]);
  });

  it('an interruptible one is cancelled by barge-in and the medium hears it', async () => {
    const client = new FakeClient();
    const bargeIn = new AbortController();
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }]] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client, { interruptible: true })]),
      clock: new FakeClock(),
      signal: bargeIn.signal,
    });
    const inv = await client.invoked();
    bargeIn.abort(new Error('caller spoke'));
    const result = await loop;
    expect(result.reason).toBe('aborted');
    expect(client.cancelled).toEqual([{ id: inv.invocationId, reason: 'cancelled' }]);
  });

  it('the call ending with the invocation outstanding gives the model a clear error', async () => {
    const client = new FakeClient();
    const loop = runToolLoop({
      provider: new ScriptedLlm({ turns: [[{ toolCall: { name: 'transfer_to_human' } }], 'bye'] }),
      messages: [{ role: 'user', content: 'x' }],
      tools: new ToolSet([transfer(client)]),
      clock: new FakeClock(),
    });
    await client.invoked();
    client.disconnect();
    const result = await loop;
    expect(JSON.parse(result.messages.find((m) => m.role === 'tool')?.content ?? '{}').error).toBe('the client disconnected before answering');
  });

  it('refuses a timeout that is not a positive number', () => {
    expect(() => transfer(new FakeClient(), { timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => transfer(new FakeClient(), { timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });
});
