import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiLlm } from '../../../src/providers/openai/openai-llm.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import type { ToolDefinition } from '../../../src/providers/types.ts';
import {
  FakeOpenAiServer,
  openAiChunk,
  openAiTextChunks,
  openAiToolCallChunks,
  openAiUsageChunk,
} from '../../support/fake-openai-server.ts';
import {
  collectEvents,
  describeLlmConformance,
  type LlmConformanceFixture,
  type ReceivedRequest,
  type ReceivedTurn,
} from '../../support/llm-conformance.ts';

/** Decode a Chat Completions request body into the suite's neutral shape (independently of the adapter). */
function decodeOpenAiRequest(body: Record<string, unknown>): ReceivedRequest {
  const messages = body['messages'] as Array<Record<string, unknown>>;
  const system = messages.filter((m) => m['role'] === 'system').map((m) => m['content'] as string);
  const turns: ReceivedTurn[] = messages
    .filter((m) => m['role'] !== 'system')
    .map((m): ReceivedTurn => {
      if (m['role'] === 'user') return { role: 'user', text: m['content'] as string };
      if (m['role'] === 'assistant') {
        const calls = (m['tool_calls'] as Array<{ id: string; type: string; function: { name: string; arguments: string } }> | undefined) ?? [];
        for (const c of calls) expect(c.type).toBe('function');
        return {
          role: 'assistant',
          text: (m['content'] as string | null) ?? '',
          toolCalls: calls.map((c) => ({ id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) })),
        };
      }
      expect(m['role']).toBe('tool');
      return { role: 'tool', callId: m['tool_call_id'] as string, name: undefined, result: JSON.parse(m['content'] as string) };
    });
  const tools = ((body['tools'] as Array<{ type: string; function: ToolDefinition }> | undefined) ?? []).map((t) => {
    expect(t.type).toBe('function');
    return { name: t.function.name, description: t.function.description, parameters: t.function.parameters };
  });
  return {
    model: body['model'] as string,
    system: system.length > 0 ? system.join('\n') : undefined,
    tools,
    temperature: body['temperature'] as number | undefined,
    maxTokens: body['max_completion_tokens'] as number | undefined,
    turns,
  };
}

async function startOpenAiFixture(): Promise<LlmConformanceFixture> {
  const fake = await FakeOpenAiServer.start();
  const provider = new OpenAiLlm({ apiKey: 'sk-test', baseUrl: fake.baseUrl, model: 'gpt-4o-mini' });
  return {
    provider,
    script: {
      text: (pieces, options = {}) => {
        const chunks: unknown[] = openAiTextChunks(pieces);
        if (options.usage) chunks.push(openAiUsageChunk(options.usage.inputTokens, options.usage.outputTokens));
        fake.enqueue({
          chunks,
          ...(options.delayFirstByteMs === undefined ? {} : { delayFirstByteMs: options.delayFirstByteMs }),
          ...(options.chunkDelayMs === undefined ? {} : { chunkDelayMs: options.chunkDelayMs }),
          ...(options.fragmentBytes === undefined ? {} : { fragmentBytes: options.fragmentBytes }),
        });
      },
      toolCalls: (calls, options = {}) => fake.enqueue({ chunks: openAiToolCallChunks(calls, options.text) }),
      httpError: (status) => fake.enqueue({ status }),
      // +1 for the role chunk that opens every answer.
      drop: (pieces) => fake.enqueue({ chunks: openAiTextChunks(pieces), dropAfterChunks: pieces.length + 1 }),
      truncate: (pieces) => fake.enqueue({ chunks: openAiTextChunks(pieces).slice(0, -1), sendDone: false }),
    },
    received: () => fake.requests.map((r) => decodeOpenAiRequest(r.body)),
    inFlight: () => fake.inFlight,
    close: () => fake.close(),
  };
}

describeLlmConformance('OpenAI', startOpenAiFixture, { toolResultCarriesName: false });

describe('OpenAiLlm wire details', () => {
  let fake: FakeOpenAiServer;
  beforeEach(async () => {
    fake = await FakeOpenAiServer.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  const hello = { messages: [{ role: 'user' as const, content: 'hi' }] };

  it('posts a streaming request with bearer auth, organization, usage option and no thinking knob', async () => {
    const llm = new OpenAiLlm({ apiKey: 'sk-secret', baseUrl: fake.baseUrl, model: 'gpt-4o-mini', organization: 'org-42' });
    fake.enqueue({ chunks: openAiTextChunks(['ok']) });
    await collectEvents(llm.stream({ ...hello, thinkingBudget: 2048 }));
    const req = fake.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers['authorization']).toBe('Bearer sk-secret');
    expect(req?.headers['openai-organization']).toBe('org-42');
    expect(req?.body['stream']).toBe(true);
    expect(req?.body['stream_options']).toEqual({ include_usage: true });
    expect(req?.body['model']).toBe('gpt-4o-mini');
    expect(req?.body).not.toHaveProperty('reasoning_effort');
    expect(req?.body).not.toHaveProperty('max_tokens');
    expect(req?.body).not.toHaveProperty('tools');
  });

  it('maps assistant text next to tool calls, user names, and null content for call-only turns', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm' });
    fake.enqueue({ chunks: openAiTextChunks(['ok']) });
    await collectEvents(
      llm.stream({
        messages: [
          { role: 'user', content: 'hi', name: 'caller' },
          { role: 'assistant', content: 'Sure.' },
          { role: 'assistant', content: 'Looking.', toolCalls: [{ id: 'c1', name: 'f', arguments: '{}' }] },
          { role: 'assistant', content: '', toolCalls: [{ id: 'c2', name: 'f', arguments: '{}' }] },
        ],
      }),
    );
    const messages = fake.requests[0]?.body['messages'];
    expect(messages).toEqual([
      { role: 'user', content: 'hi', name: 'caller' },
      { role: 'assistant', content: 'Sure.' },
      { role: 'assistant', content: 'Looking.', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c2', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    ]);
  });

  it('yields reasoning_content / reasoning deltas as thinking, before the text', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'deepseek-reasoner' });
    fake.enqueue({
      chunks: [
        openAiChunk({ role: 'assistant', content: null, reasoning_content: 'Let me ' }),
        openAiChunk({ content: null, reasoning_content: 'think.' }),
        openAiChunk({ content: null, reasoning: ' More.' }),
        openAiChunk({ content: 'Answer.' }),
        openAiChunk({}, 'stop'),
      ],
    });
    const events = await collectEvents(llm.stream(hello));
    expect(events).toEqual([
      { type: 'thinking', delta: 'Let me ' },
      { type: 'thinking', delta: 'think.' },
      { type: 'thinking', delta: ' More.' },
      { type: 'text', delta: 'Answer.' },
      { type: 'done', finishReason: 'stop' },
    ]);
  });

  it('maps finish reasons length and content_filter', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm' });
    fake.enqueue({ chunks: openAiTextChunks(['a'], 'length') });
    fake.enqueue({ chunks: openAiTextChunks([], 'content_filter') });
    expect((await collectEvents(llm.stream(hello))).at(-1)).toEqual({ type: 'done', finishReason: 'length' });
    expect((await collectEvents(llm.stream(hello))).at(-1)).toEqual({ type: 'done', finishReason: 'content_filter' });
  });

  it('fills in a missing call id and empty arguments, and reports tool_calls even if the server says stop', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm' });
    fake.enqueue({
      chunks: [
        openAiChunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, type: 'function', function: { name: 'hang_up', arguments: '' } }] }),
        openAiChunk({}, 'stop'),
      ],
    });
    const events = await collectEvents(llm.stream(hello));
    const call = events.find((e) => e.type === 'tool_call');
    expect(call?.type === 'tool_call' && call.call.name).toBe('hang_up');
    expect(call?.type === 'tool_call' && call.call.arguments).toBe('{}');
    expect(call?.type === 'tool_call' && call.call.id).toMatch(/^call_[0-9a-f-]{36}$/);
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'tool_calls' });
  });

  it('turns an error event inside the stream into a retryable ProviderError', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm' });
    fake.enqueue({
      chunks: [openAiChunk({ role: 'assistant', content: 'par' }), { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } }],
    });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.retryable && err.message.includes('The server had an error'),
    );
  });

  it('maps the SDK timeout (no response headers in time) to a retryable CR_PROVIDER_TIMEOUT', async () => {
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm', timeoutMs: 150 });
    fake.enqueue({ chunks: openAiTextChunks(['late']), delayFirstByteMs: 20_000 });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.code === 'CR_PROVIDER_TIMEOUT' && err.retryable,
    );
    expect(fake.requests).toHaveLength(1);
  });

  it('maps a refused connection to a retryable CR_PROVIDER_UNAVAILABLE', async () => {
    const closed = await FakeOpenAiServer.start();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl, model: 'm' });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.code === 'CR_PROVIDER_UNAVAILABLE' && err.retryable,
    );
  });

  it('offers tools as function tools with their JSON Schema unchanged', async () => {
    const tool: ToolDefinition = {
      name: 'lookup_order',
      description: 'Find an order',
      parameters: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } }, required: ['id'], additionalProperties: false },
    };
    const llm = new OpenAiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'm' });
    fake.enqueue({ chunks: openAiToolCallChunks([{ id: 'c', name: 'lookup_order', argumentChunks: ['{"id":"4567"}'] }]) });
    await collectEvents(llm.stream({ ...hello, tools: [tool] }));
    expect(fake.requests[0]?.body['tools']).toEqual([
      { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.parameters } },
    ]);
  });
});
