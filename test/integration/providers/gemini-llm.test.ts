import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GeminiLlm } from '../../../src/providers/gemini/gemini-llm.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import type { LlmEvent, ToolCall, ToolDefinition } from '../../../src/providers/types.ts';
import { FakeGeminiServer, geminiChunk, geminiTextChunks } from '../../support/fake-gemini-server.ts';
import {
  collectEvents,
  describeLlmConformance,
  type LlmConformanceFixture,
  type ReceivedRequest,
  type ReceivedTurn,
} from '../../support/llm-conformance.ts';

interface WirePart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name: string; args?: unknown };
  functionResponse?: { id?: string; name: string; response: unknown };
}
interface WireContent {
  role: string;
  parts: WirePart[];
}

/** Decode a generateContent request body into the suite's neutral shape (independently of the adapter). */
function decodeGeminiRequest(model: string, body: Record<string, unknown>): ReceivedRequest {
  const contents = body['contents'] as WireContent[];
  const turns: ReceivedTurn[] = [];
  for (const content of contents) {
    if (content.role === 'model') {
      turns.push({
        role: 'assistant',
        text: content.parts.map((p) => (p.thought === true ? '' : (p.text ?? ''))).join(''),
        toolCalls: content.parts
          .filter((p) => p.functionCall !== undefined)
          .map((p) => ({ id: p.functionCall?.id, name: p.functionCall?.name ?? '', args: p.functionCall?.args })),
      });
      continue;
    }
    expect(content.role).toBe('user');
    const responses = content.parts.filter((p) => p.functionResponse !== undefined);
    if (responses.length > 0) {
      for (const p of responses) {
        turns.push({ role: 'tool', callId: p.functionResponse?.id, name: p.functionResponse?.name, result: p.functionResponse?.response });
      }
    } else {
      turns.push({ role: 'user', text: content.parts.map((p) => p.text ?? '').join('') });
    }
  }
  const system = body['systemInstruction'] as WireContent | undefined;
  const generation = (body['generationConfig'] ?? {}) as Record<string, unknown>;
  const declarations =
    (body['tools'] as Array<{ functionDeclarations?: Array<{ name: string; description: string; parametersJsonSchema: ToolDefinition['parameters'] }> }> | undefined)?.flatMap(
      (t) => t.functionDeclarations ?? [],
    ) ?? [];
  return {
    model,
    system: system?.parts.map((p) => p.text ?? '').join(''),
    tools: declarations.map((d) => ({ name: d.name, description: d.description, parameters: d.parametersJsonSchema })),
    temperature: generation['temperature'] as number | undefined,
    maxTokens: generation['maxOutputTokens'] as number | undefined,
    turns,
  };
}

function geminiStreamChunks(pieces: readonly string[]): Record<string, unknown>[] {
  return pieces.map((piece) => geminiChunk([{ text: piece }]));
}

async function startGeminiFixture(): Promise<LlmConformanceFixture> {
  const fake = await FakeGeminiServer.start();
  const provider = new GeminiLlm({ apiKey: 'AIza-test', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
  return {
    provider,
    script: {
      text: (pieces, options = {}) =>
        fake.enqueue({
          chunks: geminiTextChunks(
            pieces,
            options.usage === undefined ? {} : { usage: { prompt: options.usage.inputTokens, candidates: options.usage.outputTokens } },
          ),
          ...(options.delayFirstByteMs === undefined ? {} : { delayFirstByteMs: options.delayFirstByteMs }),
          ...(options.chunkDelayMs === undefined ? {} : { chunkDelayMs: options.chunkDelayMs }),
          ...(options.fragmentBytes === undefined ? {} : { fragmentBytes: options.fragmentBytes }),
        }),
      // Gemini sends each function call whole (no argument streaming on the Gemini API); the calls of
      // one response come in successive events, the last one with finishReason STOP.
      toolCalls: (calls, options = {}) => {
        const chunks: Record<string, unknown>[] = [];
        if (options.text !== undefined) chunks.push(geminiChunk([{ text: options.text }]));
        calls.forEach((call, i) => {
          const part = { functionCall: { id: call.id, name: call.name, args: JSON.parse(call.argumentChunks.join('')) as unknown } };
          chunks.push(geminiChunk([part], i === calls.length - 1 ? { finishReason: 'STOP' } : {}));
        });
        fake.enqueue({ chunks });
      },
      httpError: (status) => fake.enqueue({ status }),
      drop: (pieces) => fake.enqueue({ chunks: geminiStreamChunks(pieces), dropAfterChunks: pieces.length }),
      truncate: (pieces) => fake.enqueue({ chunks: geminiStreamChunks(pieces) }),
    },
    received: () => fake.requests.map((r) => decodeGeminiRequest(r.model, r.body)),
    inFlight: () => fake.inFlight,
    close: () => fake.close(),
  };
}

describeLlmConformance('Gemini', startGeminiFixture, { toolResultCarriesName: true });

describe('GeminiLlm wire details', () => {
  let fake: FakeGeminiServer;
  beforeEach(async () => {
    fake = await FakeGeminiServer.start();
  });
  afterEach(async () => {
    await fake.close();
  });

  const hello = { messages: [{ role: 'user' as const, content: 'hi' }] };
  const calls = (events: readonly LlmEvent[]): ToolCall[] => events.flatMap((e) => (e.type === 'tool_call' ? [e.call] : []));

  it('posts to v1beta streamGenerateContent with alt=sse and x-goog-api-key, SDK extras off', async () => {
    const llm = new GeminiLlm({ apiKey: 'AIza-secret', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ chunks: geminiTextChunks(['ok']) });
    await collectEvents(llm.stream(hello));
    const req = fake.requests[0];
    expect(req?.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    expect(req?.query.get('alt')).toBe('sse');
    expect(req?.headers['x-goog-api-key']).toBe('AIza-secret');
    expect(req?.body).not.toHaveProperty('tools');
    expect(req?.body).not.toHaveProperty('systemInstruction');
    expect(JSON.stringify(req?.body)).not.toMatch(/automatic|abortSignal/i);
  });

  it('honours apiVersion', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash', apiVersion: 'v1alpha' });
    fake.enqueue({ chunks: geminiTextChunks(['ok']) });
    await collectEvents(llm.stream(hello));
    expect(fake.requests[0]?.apiVersion).toBe('v1alpha');
  });

  it('sends thinkingConfig and streams thought parts as thinking; usage counts thoughts as output', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({
      chunks: [
        geminiChunk([{ text: 'Considering the ', thought: true }]),
        geminiChunk([{ text: 'question.', thought: true }]),
        geminiChunk([{ text: 'Answer.' }], { finishReason: 'STOP', usage: { prompt: 5, candidates: 2, thoughts: 30 } }),
      ],
    });
    const events = await collectEvents(llm.stream({ ...hello, thinkingBudget: 1024 }));
    expect(events).toEqual([
      { type: 'thinking', delta: 'Considering the ' },
      { type: 'thinking', delta: 'question.' },
      { type: 'text', delta: 'Answer.' },
      { type: 'done', finishReason: 'stop', usage: { inputTokens: 5, outputTokens: 32 } },
    ]);
    expect(fake.requests[0]?.body['generationConfig']).toMatchObject({ thinkingConfig: { thinkingBudget: 1024, includeThoughts: true } });
  });

  it('a thinking budget of 0 disables thinking without asking for thoughts', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ chunks: geminiTextChunks(['ok']) });
    await collectEvents(llm.stream({ ...hello, thinkingBudget: 0 }));
    expect(fake.requests[0]?.body['generationConfig']).toMatchObject({ thinkingConfig: { thinkingBudget: 0, includeThoughts: false } });
  });

  it('two function calls in one event; ids generated when Gemini gives none, unique, never sent back', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({
      chunks: [
        geminiChunk(
          [
            { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
            { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
          ],
          { finishReason: 'STOP' },
        ),
      ],
    });
    const events = await collectEvents(llm.stream(hello));
    const [a, b] = calls(events);
    expect(a?.name).toBe('get_weather');
    expect(JSON.parse(a?.arguments ?? '')).toEqual({ city: 'Oslo' });
    expect(JSON.parse(b?.arguments ?? '')).toEqual({ city: 'Rome' });
    expect(a?.id).toMatch(/^gemini_/);
    expect(a?.id).not.toBe(b?.id);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls' });

    fake.enqueue({ chunks: geminiTextChunks(['Cold and warm.']) });
    await collectEvents(
      llm.stream({
        messages: [
          ...hello.messages,
          { role: 'assistant', content: '', toolCalls: [a as ToolCall, b as ToolCall] },
          { role: 'tool', toolCallId: a?.id ?? '', name: 'get_weather', content: '{"t":-3}' },
          { role: 'tool', toolCallId: b?.id ?? '', name: 'get_weather', content: '{"t":24}' },
        ],
      }),
    );
    const contents = fake.requests[1]?.body['contents'] as WireContent[];
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(contents[1]?.parts).toEqual([
      { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
      { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
    ]);
    // Both results in one user turn, in call order, without invented ids.
    expect(contents[2]?.parts).toEqual([
      { functionResponse: { name: 'get_weather', response: { t: -3 } } },
      { functionResponse: { name: 'get_weather', response: { t: 24 } } },
    ]);
  });

  it('echoes thought signatures of function calls; injects the documented stand-in on Gemini 3 when unknown', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-3-flash-preview' });
    fake.enqueue({
      chunks: [geminiChunk([{ functionCall: { id: 'fc1', name: 'lookup', args: {} }, thoughtSignature: 'c2lnLTE=' }], { finishReason: 'STOP' })],
    });
    const [call] = calls(await collectEvents(llm.stream(hello)));
    expect(call).toEqual({ id: 'fc1', name: 'lookup', arguments: '{}' });

    fake.enqueue({ chunks: geminiTextChunks(['done']) });
    await collectEvents(
      llm.stream({
        messages: [
          ...hello.messages,
          { role: 'assistant', content: '', toolCalls: [{ id: 'from_other_model', name: 'lookup', arguments: '{"q":1}' }] },
          { role: 'tool', toolCallId: 'from_other_model', name: 'lookup', content: '{}' },
          { role: 'assistant', content: 'Again.', toolCalls: [call as ToolCall] },
          { role: 'tool', toolCallId: 'fc1', name: 'lookup', content: '{}' },
        ],
      }),
    );
    const contents = fake.requests[1]?.body['contents'] as WireContent[];
    expect(contents[1]?.parts[0]).toEqual({
      functionCall: { id: 'from_other_model', name: 'lookup', args: { q: 1 } },
      thoughtSignature: 'skip_thought_signature_validator',
    });
    expect(contents[3]?.parts).toEqual([
      { text: 'Again.' },
      { functionCall: { id: 'fc1', name: 'lookup', args: {} }, thoughtSignature: 'c2lnLTE=' },
    ]);
  });

  it('wraps non-object tool results under output and takes the response name from the call', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ chunks: geminiTextChunks(['ok']) });
    await collectEvents(
      llm.stream({
        messages: [
          { role: 'system', content: 'Rule one.' },
          { role: 'system', content: 'Rule two.' },
          ...hello.messages,
          {
            role: 'assistant',
            content: '',
            toolCalls: [
              { id: 'a', name: 'count', arguments: '{}' },
              { id: 'b', name: 'say', arguments: '{}' },
            ],
          },
          { role: 'tool', toolCallId: 'a', name: '', content: '42' },
          { role: 'tool', toolCallId: 'b', name: 'say', content: 'plain words' },
        ],
      }),
    );
    const body = fake.requests[0]?.body ?? {};
    expect(body['systemInstruction']).toMatchObject({ parts: [{ text: 'Rule one.\n\nRule two.' }] });
    const contents = body['contents'] as WireContent[];
    expect(contents[2]?.parts).toEqual([
      { functionResponse: { id: 'a', name: 'count', response: { output: 42 } } },
      { functionResponse: { id: 'b', name: 'say', response: { output: 'plain words' } } },
    ]);
  });

  it('maps MAX_TOKENS, SAFETY and a blocked prompt', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ chunks: geminiTextChunks(['trunc'], { finishReason: 'MAX_TOKENS' }) });
    fake.enqueue({ chunks: [geminiChunk([], { finishReason: 'SAFETY' })] });
    fake.enqueue({ chunks: [{ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } }] });
    expect((await collectEvents(llm.stream(hello))).at(-1)).toMatchObject({ type: 'done', finishReason: 'length' });
    expect((await collectEvents(llm.stream(hello))).at(-1)).toMatchObject({ type: 'done', finishReason: 'content_filter' });
    expect((await collectEvents(llm.stream(hello))).at(-1)).toMatchObject({ type: 'done', finishReason: 'content_filter' });
  });

  it('turns an error object inside the stream into a ProviderError classified by its code', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ chunks: [geminiChunk([{ text: 'par' }]), { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }] });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.retryable && err.status === 503 && err.message.includes('overloaded'),
    );
  });

  it('reports the vendor error message and status name for HTTP errors', async () => {
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl: fake.baseUrl, model: 'gemini-2.5-flash' });
    fake.enqueue({ status: 429 });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.message === 'gemini: RESOURCE_EXHAUSTED: You exceeded your current quota, please check your plan and billing details.',
    );
  });

  it('maps a refused connection to a retryable CR_PROVIDER_UNAVAILABLE', async () => {
    const closed = await FakeGeminiServer.start();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const llm = new GeminiLlm({ apiKey: 'k', baseUrl, model: 'gemini-2.5-flash' });
    await expect(collectEvents(llm.stream(hello))).rejects.toSatisfy(
      (err) => err instanceof ProviderError && err.code === 'CR_PROVIDER_UNAVAILABLE' && err.retryable,
    );
  });
});
