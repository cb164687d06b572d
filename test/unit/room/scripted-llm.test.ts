import { describe, expect, it } from 'vitest';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import type { LlmEvent, LlmRequest } from '../../../src/providers/types.ts';

async function drain(it: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const req = (content: string): LlmRequest => ({ messages: [{ role: 'user', content }] });

describe('ScriptedLlm', () => {
  it('plays turns in order with chunked text, thinking and tool calls, and records requests', async () => {
    const llm = new ScriptedLlm({
      chunkSize: 3,
      turns: [[{ thinking: 'hmm' }, { text: 'abcdefg' }, { toolCall: { name: 'f', arguments: { x: 1 } } }, { toolCall: { id: 'fixed', name: 'g', arguments: '{bad' } }], 'plain'],
    });
    const r = req('one');
    const first = await drain(llm.stream(r));
    expect(first).toEqual([
      { type: 'thinking', delta: 'hmm' },
      { type: 'text', delta: 'abc' },
      { type: 'text', delta: 'def' },
      { type: 'text', delta: 'g' },
      { type: 'tool_call', call: { id: 'call_1', name: 'f', arguments: '{"x":1}' } },
      { type: 'tool_call', call: { id: 'fixed', name: 'g', arguments: '{bad' } },
      { type: 'done', finishReason: 'tool_calls' },
    ]);
    expect(await drain(llm.stream(req('two')))).toEqual([
      { type: 'text', delta: 'pla' },
      { type: 'text', delta: 'in' },
      { type: 'done', finishReason: 'stop' },
    ]);
    expect(llm.requests.map((q) => q.messages[0]?.content)).toEqual(['one', 'two']);
    // Recorded requests are copies.
    expect(llm.requests[0]).not.toBe(r);
  });

  it('fails when exhausted unless there is a fallback; dynamic turns see the request', async () => {
    const llm = new ScriptedLlm({ turns: [(request, i) => `echo ${i}: ${request.messages[0]?.content}`] });
    expect(await drain(llm.stream(req('x')))).toContainEqual({ type: 'text', delta: 'echo 0: x' });
    await expect(drain(llm.stream(req('y')))).rejects.toThrow(/script exhausted at request 2/);
    const fb = new ScriptedLlm({ fallback: 'again' });
    expect((await drain(fb.stream(req('a'))))[0]).toEqual({ type: 'text', delta: 'again' });
    expect((await drain(fb.stream(req('b'))))[0]).toEqual({ type: 'text', delta: 'again' });
  });

  it('delays honour the abort signal and errors surface after earlier steps', async () => {
    const llm = new ScriptedLlm({ turns: [[{ text: 'a' }, { delayMs: 5_000 }, { text: 'b' }], [{ text: 'x' }, { error: new Error('boom') }], [{ text: 'cut' }, { finish: 'length' }]] });
    const controller = new AbortController();
    const got: LlmEvent[] = [];
    setTimeout(() => controller.abort(), 30);
    await expect(
      (async () => {
        for await (const e of llm.stream(req('q'), controller.signal)) got.push(e);
      })(),
    ).rejects.toMatchObject({ code: 'CR_ABORTED' });
    expect(got).toEqual([{ type: 'text', delta: 'a' }]);
    const got2: LlmEvent[] = [];
    await expect(
      (async () => {
        for await (const e of llm.stream(req('q'))) got2.push(e);
      })(),
    ).rejects.toThrow('boom');
    expect(got2).toEqual([{ type: 'text', delta: 'x' }]);
    expect((await drain(llm.stream(req('q')))).at(-1)).toEqual({ type: 'done', finishReason: 'length' });
  });

  it('waitForRequests resolves when enough requests arrived', async () => {
    const llm = new ScriptedLlm({ fallback: 'x' });
    const waiting = llm.waitForRequests(2);
    await drain(llm.stream(req('1')));
    let resolved = false;
    void waiting.then(() => (resolved = true));
    await Promise.resolve();
    expect(resolved).toBe(false);
    await drain(llm.stream(req('2')));
    await waiting;
    expect(llm.requests).toHaveLength(2);
  });
});
