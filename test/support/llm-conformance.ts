import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortedError } from '../../src/core/errors.ts';
import { ProviderError } from '../../src/providers/provider-error.ts';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, ToolDefinition } from '../../src/providers/types.ts';

/**
 * The behaviour every {@link LlmProvider} adapter must show, run against a fake that speaks the
 * vendor's real wire protocol to the real SDK. A test file supplies a fixture factory; the suite
 * scripts the fake through a vendor-neutral {@link LlmFakeScript} and checks what the fake received
 * through a vendor-neutral decoding of the request body.
 */

/** A tool call the fake should stream; `argumentChunks` joined is the arguments JSON. */
export interface ScriptedToolCall {
  readonly id: string;
  readonly name: string;
  /** How the arguments are split on the wire, where the vendor streams them in pieces. */
  readonly argumentChunks: readonly string[];
}

/** Usage and pacing of a scripted text answer. */
export interface TextScriptOptions {
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number };
  readonly delayFirstByteMs?: number;
  readonly chunkDelayMs?: number;
  /** Write the body in pieces of this many bytes. */
  readonly fragmentBytes?: number;
}

/** Vendor-neutral scripting of the next reply of the fake. */
export interface LlmFakeScript {
  /** Stream `pieces` as text, then finish normally. */
  text(pieces: readonly string[], options?: TextScriptOptions): void;
  /** Optional text, then the tool calls, then finish with the vendor's tool-call / stop reason. */
  toolCalls(calls: readonly ScriptedToolCall[], options?: { readonly text?: string }): void;
  /** Answer with this HTTP status and the vendor's JSON error body. */
  httpError(status: number): void;
  /** Stream `pieces` as text, then destroy the connection. */
  drop(pieces: readonly string[]): void;
  /** Stream `pieces` as text, then end the body cleanly without any finish marker. */
  truncate(pieces: readonly string[]): void;
}

/** A request as the fake received it, decoded into vendor-neutral terms. */
export interface ReceivedRequest {
  readonly model: string;
  readonly system: string | undefined;
  readonly tools: readonly ToolDefinition[];
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly turns: readonly ReceivedTurn[];
}

/** One non-system message as it went over the wire. */
export type ReceivedTurn =
  | { readonly role: 'user'; readonly text: string }
  | {
      readonly role: 'assistant';
      readonly text: string;
      readonly toolCalls: readonly { readonly id: string | undefined; readonly name: string; readonly args: unknown }[];
    }
  | { readonly role: 'tool'; readonly callId: string | undefined; readonly name: string | undefined; readonly result: unknown };

/** One adapter wired to its fake, started fresh for each test. */
export interface LlmConformanceFixture {
  readonly provider: LlmProvider;
  readonly script: LlmFakeScript;
  /** Requests received so far, decoded. */
  received(): readonly ReceivedRequest[];
  /** Responses the fake is still writing; 0 once an aborted request was really cancelled. */
  inFlight(): number;
  close(): Promise<void>;
}

/** What the vendor's wire format carries, so the suite asserts exactly that much. */
export interface LlmWireTraits {
  /** Tool results name the function (Gemini) or only the call id (OpenAI). */
  readonly toolResultCarriesName: boolean;
}

const WEATHER: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
    required: ['city'],
  },
};
const TIME: ToolDefinition = {
  name: 'get_time',
  description: 'Local time in a timezone',
  parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] },
};

const BASIC: LlmRequest = {
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Say hello.' },
  ],
};

/** Drain a stream into an array (rethrows the stream's error). */
export async function collectEvents(stream: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const events: LlmEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Drain a stream, returning the events seen before it failed and the failure. */
async function collectUntilError(stream: AsyncIterable<LlmEvent>): Promise<{ events: LlmEvent[]; error: unknown }> {
  const events: LlmEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

function textOf(events: readonly LlmEvent[]): string {
  return events.map((e) => (e.type === 'text' ? e.delta : '')).join('');
}

function expectSingleDoneLast(events: readonly LlmEvent[]): Extract<LlmEvent, { type: 'done' }> {
  const dones = events.filter((e) => e.type === 'done');
  expect(dones).toHaveLength(1);
  const last = events.at(-1);
  expect(last?.type).toBe('done');
  return last as Extract<LlmEvent, { type: 'done' }>;
}

/** Register the LLM conformance tests for one adapter. Each test starts and closes its own fixture. */
export function describeLlmConformance(
  label: string,
  startFixture: () => Promise<LlmConformanceFixture>,
  traits: LlmWireTraits,
): void {
  describe(`${label} LLM conformance`, () => {
    let fx: LlmConformanceFixture;
    beforeEach(async () => {
      fx = await startFixture();
    });
    afterEach(async () => {
      await fx.close();
    });

    it('streams text deltas in order and ends with one done(stop) carrying usage', async () => {
      fx.script.text(['Hel', 'lo', ', wor', 'ld!'], { usage: { inputTokens: 12, outputTokens: 4 } });
      const events = await collectEvents(fx.provider.stream(BASIC));
      expect(events.filter((e) => e.type === 'text').map((e) => e.delta)).toEqual(['Hel', 'lo', ', wor', 'ld!']);
      const done = expectSingleDoneLast(events);
      expect(done.finishReason).toBe('stop');
      expect(done.usage).toEqual({ inputTokens: 12, outputTokens: 4 });
    });

    it('sends system prompt, user text, model, temperature and max tokens', async () => {
      fx.script.text(['ok']);
      await collectEvents(
        fx.provider.stream({ ...BASIC, model: 'model-override', temperature: 0.25, maxTokens: 77, tools: [WEATHER] }),
      );
      expect(fx.received()).toHaveLength(1);
      const got = fx.received()[0];
      expect(got?.model).toBe('model-override');
      expect(got?.system).toBe('You are terse.');
      expect(got?.turns).toEqual([{ role: 'user', text: 'Say hello.' }]);
      expect(got?.temperature).toBe(0.25);
      expect(got?.maxTokens).toBe(77);
      expect(got?.tools).toEqual([WEATHER]);
    });

    it('survives events split at arbitrary byte offsets (multi-byte text included)', async () => {
      const pieces = ['Grüß ', 'Gott — ', '你好', ' 👋'];
      fx.script.text(pieces, { fragmentBytes: 5 });
      const events = await collectEvents(fx.provider.stream(BASIC));
      expect(textOf(events)).toBe(pieces.join(''));
      expect(expectSingleDoneLast(events).finishReason).toBe('stop');
    });

    it('assembles a tool call whose arguments arrive in pieces', async () => {
      fx.script.toolCalls([{ id: 'call_a1', name: 'get_weather', argumentChunks: ['{"ci', 'ty":"Par', 'is","unit', '":"c"}'] }]);
      const events = await collectEvents(fx.provider.stream({ ...BASIC, tools: [WEATHER] }));
      const calls = events.filter((e) => e.type === 'tool_call').map((e) => e.call);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.id).toBe('call_a1');
      expect(calls[0]?.name).toBe('get_weather');
      expect(JSON.parse(calls[0]?.arguments ?? '')).toEqual({ city: 'Paris', unit: 'c' });
      expect(expectSingleDoneLast(events).finishReason).toBe('tool_calls');
    });

    it('returns two tool calls from one response, after the leading text, each whole', async () => {
      fx.script.toolCalls(
        [
          { id: 'call_w', name: 'get_weather', argumentChunks: ['{"city":', '"Oslo"}'] },
          { id: 'call_t', name: 'get_time', argumentChunks: ['{"tz":"Eu', 'rope/Oslo"}'] },
        ],
        { text: 'Checking both.' },
      );
      const events = await collectEvents(fx.provider.stream({ ...BASIC, tools: [WEATHER, TIME] }));
      expect(textOf(events)).toBe('Checking both.');
      const kinds = events.map((e) => e.type);
      expect(kinds.indexOf('tool_call')).toBeGreaterThan(kinds.lastIndexOf('text'));
      const calls = events.filter((e) => e.type === 'tool_call').map((e) => e.call);
      expect(calls.map((c) => [c.id, c.name, JSON.parse(c.arguments)])).toEqual([
        ['call_w', 'get_weather', { city: 'Oslo' }],
        ['call_t', 'get_time', { tz: 'Europe/Oslo' }],
      ]);
      expect(expectSingleDoneLast(events).finishReason).toBe('tool_calls');
    });

    it('sends the assistant tool calls and the tool results back on the next request', async () => {
      fx.script.text(['It is 21°C at 10:00.']);
      const messages: ChatMessage[] = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather and time in Oslo?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_w', name: 'get_weather', arguments: '{"city":"Oslo"}' },
            { id: 'call_t', name: 'get_time', arguments: '{"tz":"Europe/Oslo"}' },
          ],
        },
        { role: 'tool', toolCallId: 'call_w', name: 'get_weather', content: '{"temperature":21,"unit":"c"}' },
        { role: 'tool', toolCallId: 'call_t', name: 'get_time', content: '{"time":"10:00"}' },
      ];
      const events = await collectEvents(fx.provider.stream({ messages, tools: [WEATHER, TIME] }));
      expect(textOf(events)).toBe('It is 21°C at 10:00.');
      expectSingleDoneLast(events);

      const turns = fx.received()[0]?.turns ?? [];
      expect(turns[0]).toEqual({ role: 'user', text: 'Weather and time in Oslo?' });
      expect(turns[1]).toEqual({
        role: 'assistant',
        text: '',
        toolCalls: [
          { id: 'call_w', name: 'get_weather', args: { city: 'Oslo' } },
          { id: 'call_t', name: 'get_time', args: { tz: 'Europe/Oslo' } },
        ],
      });
      const results = turns.slice(2);
      expect(results).toEqual([
        {
          role: 'tool',
          callId: 'call_w',
          name: traits.toolResultCarriesName ? 'get_weather' : undefined,
          result: { temperature: 21, unit: 'c' },
        },
        {
          role: 'tool',
          callId: 'call_t',
          name: traits.toolResultCarriesName ? 'get_time' : undefined,
          result: { time: '10:00' },
        },
      ]);
    });

    for (const [status, retryable] of [
      [400, false],
      [401, false],
      [429, true],
      [500, true],
    ] as const) {
      it(`maps HTTP ${status} to a ProviderError with retryable=${retryable}, without SDK retries`, async () => {
        fx.script.httpError(status);
        const { events, error } = await collectUntilError(fx.provider.stream(BASIC));
        expect(events).toEqual([]);
        expect(error).toBeInstanceOf(ProviderError);
        const err = error as ProviderError;
        expect(err.retryable).toBe(retryable);
        expect(err.status).toBe(status);
        expect(err.provider).toBe(fx.provider.name);
        if (status === 401) expect(err.code).toBe('CR_PROVIDER_AUTH');
        expect(fx.received()).toHaveLength(1);
      });
    }

    it('turns a connection dropped mid-stream into a retryable ProviderError after the text so far', async () => {
      fx.script.drop(['partial ', 'answer']);
      const { events, error } = await collectUntilError(fx.provider.stream(BASIC));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
      expect(textOf(events)).toBe('partial answer');
      expect(events.some((e) => e.type === 'done')).toBe(false);
    });

    it('treats a body that ends without a finish marker as a retryable ProviderError', async () => {
      fx.script.truncate(['cut ', 'short']);
      const { events, error } = await collectUntilError(fx.provider.stream(BASIC));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
      expect(events.some((e) => e.type === 'done')).toBe(false);
    });

    it('aborts promptly while waiting for the first byte and cancels the HTTP request', async () => {
      fx.script.text(['never'], { delayFirstByteMs: 30_000 });
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 50);
      const { events, error } = await collectUntilError(fx.provider.stream(BASIC, controller.signal));
      expect(events).toEqual([]);
      expect(error).toBeInstanceOf(AbortedError);
      // A hang guard, not a benchmark: the fake would wait 30 s.
      expect(Date.now() - started).toBeLessThan(10_000);
      await vi.waitFor(() => expect(fx.inFlight()).toBe(0));
    });

    it('aborts mid-stream: no done, AbortedError, request cancelled', async () => {
      fx.script.text(
        Array.from({ length: 200 }, (_, i) => `w${i} `),
        { chunkDelayMs: 20 },
      );
      const controller = new AbortController();
      const events: LlmEvent[] = [];
      let error: unknown;
      try {
        for await (const event of fx.provider.stream(BASIC, controller.signal)) {
          events.push(event);
          if (events.length === 2) controller.abort();
        }
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AbortedError);
      expect(events.length).toBeGreaterThanOrEqual(2);
      expect(events.length).toBeLessThan(200);
      expect(events.some((e) => e.type === 'done')).toBe(false);
      await vi.waitFor(() => expect(fx.inFlight()).toBe(0));
    });

    it('rejects an already aborted signal without sending a request', async () => {
      const controller = new AbortController();
      controller.abort();
      const { error } = await collectUntilError(fx.provider.stream(BASIC, controller.signal));
      expect(error).toBeInstanceOf(AbortedError);
      expect(fx.received()).toHaveLength(0);
    });

    it('cancels the HTTP request when the consumer stops iterating early', async () => {
      fx.script.text(
        Array.from({ length: 200 }, (_, i) => `w${i} `),
        { chunkDelayMs: 20 },
      );
      for await (const event of fx.provider.stream(BASIC)) {
        if (event.type === 'text') break;
      }
      await vi.waitFor(() => expect(fx.inFlight()).toBe(0));
    });

    it('serves several turns in sequence from one provider instance', async () => {
      fx.script.text(['one']);
      fx.script.toolCalls([{ id: 'call_x', name: 'get_time', argumentChunks: ['{"tz":"UTC"}'] }]);
      fx.script.text(['three']);
      const first = await collectEvents(fx.provider.stream(BASIC));
      const second = await collectEvents(fx.provider.stream({ ...BASIC, tools: [TIME] }));
      const third = await collectEvents(fx.provider.stream(BASIC));
      expect(textOf(first)).toBe('one');
      expect(second.filter((e) => e.type === 'tool_call')).toHaveLength(1);
      expect(textOf(third)).toBe('three');
      for (const events of [first, second, third]) expectSingleDoneLast(events);
      expect(fx.received()).toHaveLength(3);
    });
  });
}
