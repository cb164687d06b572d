import { afterEach, describe, expect, it } from 'vitest';
import { runExample } from '../../../examples/room-with-tools.ts';
import { FakeOpenAiServer, openAiTextChunks, openAiToolCallChunks } from '../../support/fake-openai-server.ts';

type WireMessage = { role: string; content?: string | null; tool_calls?: Array<{ function: { name: string } }> };
type WireTool = { function: { name: string; parameters: unknown } };

let fake: FakeOpenAiServer | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function sink(): { write: (t: string) => void; text: () => string } {
  const parts: string[] = [];
  return { write: (t) => void parts.push(t), text: () => parts.join('') };
}

describe('examples/room-with-tools.ts', () => {
  it('runs end to end against an OpenAI-compatible server: HTTP tool, MCP tool, agent as tool, hang-up', async () => {
    fake = await FakeOpenAiServer.start();
    fake.enqueue({
      chunks: openAiToolCallChunks([
        { id: 'c1', name: 'order_status', argumentChunks: ['{"orderId":', '"42","verbose":true}'] },
        { id: 'c2', name: 'multiply', argumentChunks: ['{"a":17,', '"b":23}'] },
      ]),
    });
    fake.enqueue({ chunks: openAiToolCallChunks([{ id: 'c3', name: 'ask_researcher', argumentChunks: ['{"input":"capital of France?"}'] }]) });
    // The researcher agent's own model call (agent used as a tool).
    fake.enqueue({ chunks: openAiTextChunks(['Paris.']) });
    fake.enqueue({ chunks: openAiToolCallChunks([{ id: 'c4', name: 'hang_up', argumentChunks: ['{}'] }], 'It is 391, order 42 shipped, Paris. Bye!') });
    fake.enqueue({ chunks: openAiTextChunks(['']) });
    const out = sink();
    const err = sink();

    const result = await runExample({
      apiKey: 'sk-fake',
      baseUrl: fake.baseUrl,
      model: 'gpt-4o-mini',
      mcpUrl: undefined,
      mcpTransport: 'streamable_http',
      say: ['Is order 42 shipped, what is 17 times 23, and what is the capital of France?', 'never sent: the call ended'],
      stdout: out,
      stderr: err,
    });

    expect(result.callEnded).toBe(true);
    expect(out.text()).toContain('assistant> It is 391, order 42 shipped, Paris. Bye!');
    expect(out.text()).toContain('[call ended by the assistant]');
    expect(out.text()).not.toContain('never sent');
    expect(err.text()).toMatch(/\[tool\] order_status ok/);
    expect(err.text()).toMatch(/\[tool\] multiply ok/);
    expect(err.text()).toMatch(/\[tool\] ask_researcher ok/);
    expect(err.text()).toMatch(/\[tool\] hang_up ok/);

    expect(fake.requests).toHaveLength(5);
    const bodies = fake.requests.map((r) => r.body as { messages: WireMessage[]; tools?: WireTool[] });
    const [first, second, research, third] = bodies as [(typeof bodies)[0], (typeof bodies)[0], (typeof bodies)[0], (typeof bodies)[0]];
    expect(first.tools?.map((t) => t.function.name)).toEqual(['order_status', 'ask_researcher', 'multiply', 'hang_up']);
    // The HTTP tool's API key is automatic: not in the schema the model is offered.
    expect(JSON.stringify(first.tools)).not.toMatch(/api-key/i);
    // Real tool results went back to the model: the orders API (through the HTTP tool) and the MCP server.
    const toolResults = second.messages.filter((m) => m.role === 'tool').map((m) => m.content);
    expect(JSON.parse(toolResults[0] ?? '{}')).toEqual({ orderId: '42', status: 'shipped', history: ['received', 'packing'] });
    expect(toolResults[1]).toBe('391');
    // The agent used as a tool saw only its input, not the conversation.
    expect(research.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(research.messages[1]?.content).toBe('capital of France?');
    expect(third.messages.filter((m) => m.role === 'tool').at(-1)?.content).toBe('Paris.');
  });
});
