/**
 * OpenAI Realtime (GA) through the real `openai/realtime/ws` client against a local TLS fake that
 * speaks the Realtime event protocol: the shared realtime conformance suite (G.711 mu-law 8 kHz
 * pass-through both ways, and PCM 24 kHz), then the OpenAI-specific wire shape and faults.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/logger.ts';
import { OpenAiRealtime, type OpenAiRealtimeOptions } from '../../../src/providers/openai-realtime/openai-realtime.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import type { RealtimeSession, RealtimeSessionOptions, ToolDefinition } from '../../../src/providers/types.ts';
import { FakeOpenAiRealtimeServer, type FakeRealtimeConnection } from '../../support/fake-openai-realtime-server.ts';
import {
  audioOf,
  callerTurn,
  capturingLogger,
  collectRealtimeEvents,
  feed,
  modelAudio,
  runRealtimeConformance,
  speech,
  within,
  type RealtimeFakeControl,
} from '../../support/realtime-conformance.ts';

const KEY = 'sk-test-realtime';
const server = new FakeOpenAiRealtimeServer({ apiKey: KEY, userTranscript: 'where is my order' });
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.faultsFor = () => ({});
  server.plans.length = 0;
});
/** Sessions opened through `provider()`, closed after each test even when it failed. */
const opened: RealtimeSession[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
});

function tracked<P extends { open(o: RealtimeSessionOptions, s?: AbortSignal): Promise<RealtimeSession> }>(p: P): P {
  const open = p.open.bind(p);
  p.open = async (o, s) => {
    const session = await open(o, s);
    opened.push(session);
    return session;
  };
  return p;
}

const TOOLS: ToolDefinition[] = [
  { name: 'lookup_order', description: 'Look up an order', parameters: { type: 'object', properties: { order: { type: 'string' } }, required: ['order'] } },
  { name: 'check_stock', description: 'Check stock for a SKU', parameters: { type: 'object', properties: { sku: { type: 'string' } } } },
];

const MULAW: RealtimeSessionOptions = {
  instructions: 'You are the order desk. Be brief.',
  tools: TOOLS,
  inputFormat: { encoding: 'mulaw', sampleRate: 8000 },
  outputFormat: { encoding: 'mulaw', sampleRate: 8000 },
  turnDetection: 'server_vad',
  transcription: true,
};
const PCM24: RealtimeSessionOptions = { ...MULAW, inputFormat: { encoding: 'pcm_s16le', sampleRate: 24000 }, outputFormat: { encoding: 'pcm_s16le', sampleRate: 24000 } };

function provider(extra: Partial<OpenAiRealtimeOptions> & { logger?: Logger } = {}): OpenAiRealtime {
  return tracked(new OpenAiRealtime({ apiKey: KEY, baseUrl: server.baseUrl, ca: server.ca, connectTimeoutMs: 3000, closeTimeoutMs: 1000, ...extra }));
}

function newest(): FakeRealtimeConnection {
  const c = server.connections.at(-1);
  if (c === undefined) throw new Error('no connection');
  return c;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const control: RealtimeFakeControl = {
  get handshakes() {
    return server.handshakes;
  },
  get openConnections() {
    return server.openConnections;
  },
  receivedAudio: () => Buffer.concat(newest().audio),
  queueSpeech: ({ audio, transcript, slow }) => server.plans.push({ audio, ...(transcript === undefined ? {} : { transcript }), ...(slow === true ? { speed: 1, burstMs: 40 } : {}) }),
  queueToolCalls: (calls) => server.plans.push({ toolCalls: calls.map((c) => ({ name: c.name, arguments: JSON.stringify(c.args) })) }),
  toolResults: () => newest().functionOutputs.map((o) => ({ callId: o.callId, output: parse(o.output) })),
  toolContinuations: () => {
    const events = newest().clientEvents;
    const firstOutput = events.findIndex((e) => e.type === 'conversation.item.create');
    return firstOutput < 0 ? 0 : events.slice(firstOutput).filter((e) => e.type === 'response.create').length;
  },
  userTexts: () => [...newest().userTexts],
  truncates: () => newest().truncates,
  clientMessageCount: () => newest().clientEvents.length,
  dropNewest: (code) => newest().drop(code),
  sendMalformed: () => newest().sendMalformedBatch(),
  stallNext: () => {
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { stall: true } : {});
  },
  newestResumed: () => false,
  reset: () => {
    server.plans.length = 0;
    server.faultsFor = () => ({});
  },
};

const harness = (name: string, options: RealtimeSessionOptions) => ({
  name,
  createProvider: (o?: { apiKey?: string; logger?: Logger; connectTimeoutMs?: number }) =>
    provider({
      ...(o?.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
      ...(o?.logger !== undefined ? { logger: o.logger } : {}),
      ...(o?.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    }),
  options,
  fake: control,
});

runRealtimeConformance(harness('openai-realtime G.711 mu-law 8 kHz pass-through', MULAW));
runRealtimeConformance(harness('openai-realtime PCM 24 kHz', PCM24));

describe('openai-realtime specifics', () => {
  it('sends the GA session.update: type realtime, formats and turn detection under audio, function tools', async () => {
    const session = await provider({ voice: 'cedar' }).open({ ...MULAW, model: 'gpt-realtime-mini' });
    await session.close();
    const conn = newest();
    expect(conn.url.pathname).toBe('/v1/realtime');
    expect(conn.url.searchParams.get('model')).toBe('gpt-realtime-mini');
    expect(conn.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(conn.headers['openai-beta']).toBeUndefined();
    const update = conn.eventsOf('session.update')[0]?.session as Record<string, unknown>;
    expect(update).toEqual({
      type: 'realtime',
      instructions: MULAW.instructions,
      output_modalities: ['audio'],
      audio: {
        input: {
          format: { type: 'audio/pcmu' },
          turn_detection: { type: 'server_vad', create_response: true, interrupt_response: true },
          transcription: { model: 'gpt-4o-mini-transcribe' },
        },
        output: { format: { type: 'audio/pcmu' }, voice: 'cedar' },
      },
      tools: TOOLS.map((t) => ({ type: 'function', name: t.name, description: t.description, parameters: t.parameters })),
      tool_choice: 'auto',
    });
  });

  it('A-law goes through untouched both ways, and PCM is declared at 24 kHz', async () => {
    const alaw: RealtimeSessionOptions = { ...MULAW, inputFormat: { encoding: 'alaw', sampleRate: 8000 }, outputFormat: { encoding: 'alaw', sampleRate: 8000 } };
    const session = await provider().open(alaw);
    const log = collectRealtimeEvents(session);
    const answer = modelAudio(alaw.outputFormat, 400, 21);
    server.plans.push({ audio: answer });
    const sent = callerTurn(alaw.inputFormat);
    await feed(session, sent);
    const done = await log.waitFor('response_done');
    expect(Buffer.concat(newest().audio).equals(Buffer.from(sent))).toBe(true);
    expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
    const input = (newest().session?.audio as { input: { format: unknown } }).input.format;
    expect(input).toEqual({ type: 'audio/pcma' });
    await session.close();
    const pcm = await provider().open(PCM24);
    await pcm.close();
    expect((newest().session?.audio as { input: { format: unknown } }).input.format).toEqual({ type: 'audio/pcm', rate: 24000 });
  });

  it('manual turns: turn_detection null, and commit/response.create go after the audio appended before them', async () => {
    const session = await provider().open({ ...MULAW, turnDetection: 'manual' });
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 100) });
    await feed(session, speech(MULAW.inputFormat, 100));
    session.commit();
    session.createResponse();
    await log.waitFor('response_done');
    await session.close();
    const conn = newest();
    expect((conn.session?.audio as { input: { turn_detection: unknown } }).input.turn_detection).toBeNull();
    const types = conn.clientEvents.map((e) => e.type);
    expect(types.slice(0, 1)).toEqual(['session.update']);
    expect(types.slice(-2)).toEqual(['input_audio_buffer.commit', 'response.create']);
    expect(types.slice(1, -2).every((t) => t === 'input_audio_buffer.append')).toBe(true);
  });

  it('barge-in as the bridge does it: speech_started, cancel (already cancelled: not an error), truncate to what was played', async () => {
    const session = await provider().open(MULAW);
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 3000), speed: 1, burstMs: 40 });
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 100) });
    await feed(session, callerTurn(MULAW.inputFormat));
    const first = await log.waitFor('audio');
    const startedBefore = log.of('speech_started').length;
    await feed(session, speech(MULAW.inputFormat, 200));
    const started = await log.waitFor('speech_started', () => log.of('speech_started').length > startedBefore);
    expect(typeof started.audioMs).toBe('number');
    expect(started.itemId).toMatch(/^item_/);
    // The server cancelled on its own (interrupt_response); the bridge's cancel finds nothing.
    await log.waitFor('response_done', (e) => e.responseId === first.responseId);
    session.cancelResponse();
    const played = Math.min(60, Math.floor(audioOf(log.events, first.responseId).length / 8));
    session.truncate(first.itemId, played);
    await server.waitFor(() => newest().truncates.length === 1, 3000, 'truncate');
    await new Promise((r) => setTimeout(r, 150));
    expect(log.of('error')).toEqual([]);
    expect(newest().truncates).toEqual([{ itemId: first.itemId, audioEndMs: played }]);
    expect(newest().responses[0]).toMatchObject({ status: 'cancelled', reason: 'turn_detected' });
    await session.close();
  });

  it('audio of a cancelled response stops at the cancel, even a delta already on its way', async () => {
    const session = await provider().open(MULAW);
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 3000), speed: 1, burstMs: 40 });
    await feed(session, callerTurn(MULAW.inputFormat));
    const first = await log.waitFor('audio');
    session.cancelResponse();
    const done = await log.waitFor('response_done', (e) => e.responseId === first.responseId);
    expect(done.status).toBe('cancelled');
    const record = newest().responses.find((r) => r.id === first.responseId);
    expect(record?.sentBeforeCancel).toBeDefined();
    // The fake sent one more delta after it got the cancel; the adapter must not pass it on.
    expect(record?.audioBytes).toBeGreaterThan(record?.sentBeforeCancel ?? 0);
    expect(audioOf(log.events, first.responseId).length).toBeLessThanOrEqual(record?.sentBeforeCancel ?? -1);
    await session.close();
  });

  it('truncate never claims more audio than was received for the item (the server would refuse it)', async () => {
    const session = await provider().open(MULAW);
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 400) });
    await feed(session, callerTurn(MULAW.inputFormat));
    const done = await log.waitFor('response_done');
    const item = log.of('audio')[0]?.itemId ?? '';
    session.truncate(item, 60_000);
    await server.waitFor(() => newest().truncates.length === 1, 3000, 'truncate');
    expect(newest().truncates[0]?.audioEndMs).toBe(Math.floor(audioOf(log.events, done.responseId).length / 8));
    await new Promise((r) => setTimeout(r, 100));
    expect(log.of('error')).toEqual([]);
    await session.close();
  });

  it('a server error event is a non-fatal error; the session goes on', async () => {
    const session = await provider().open(MULAW);
    const log = collectRealtimeEvents(session);
    newest().send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'Bad thing', param: 'item', event_id: null } });
    const err = await log.waitFor('error');
    expect(err).toMatchObject({ fatal: false, retryable: false });
    expect(err.error).toMatchObject({ code: 'CR_PROVIDER_REJECTED', provider: 'openai-realtime' });
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 100) });
    await feed(session, callerTurn(MULAW.inputFormat));
    await log.waitFor('response_done', (e) => e.status === 'completed');
    await session.close();
  });

  it('a refused session.update fails open() with a non-retryable CR_PROVIDER_REJECTED', async () => {
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { refuseSessionUpdate: true } : {});
    const err = await provider().open(MULAW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_PROVIDER_REJECTED', retryable: false });
    await server.waitFor(() => server.openConnections === 0, 2000, 'socket closed');
  });

  it('an upgrade answered 503 is retryable; a certificate the client does not trust is not', async () => {
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { handshakeStatus: 503 } : {});
    const busy = await provider().open(MULAW).catch((e: unknown) => e);
    expect(busy).toMatchObject({ code: 'CR_PROVIDER_UNAVAILABLE', retryable: true, status: 503 });
    const untrusted = await new OpenAiRealtime({ apiKey: KEY, baseUrl: server.baseUrl, connectTimeoutMs: 2000 }).open(MULAW).catch((e: unknown) => e);
    expect(untrusted).toMatchObject({ code: 'CR_PROVIDER_TLS', retryable: false });
  });

  it('addHistory(): user, system (notes) and assistant message items in the GA shape, in order, and no response asked for', async () => {
    const session = await provider().open(MULAW);
    const log = collectRealtimeEvents(session);
    session.addHistory([
      { role: 'user', text: 'where is my order' },
      { role: 'note', text: 'Earlier in this call the tool lookup_order was called with {} and returned: shipped' },
      { role: 'assistant', text: 'It shipped yesterday' },
    ]);
    await server.waitFor(() => newest().messageItems.length === 3, 3000, 'the history items');
    await new Promise((r) => setTimeout(r, 200));
    expect(newest().messageItems).toEqual([
      { role: 'user', text: 'where is my order' },
      { role: 'system', text: 'Earlier in this call the tool lookup_order was called with {} and returned: shipped' },
      { role: 'assistant', text: 'It shipped yesterday' },
    ]);
    expect(newest().clientEvents.filter((e) => e.type === 'response.create')).toEqual([]);
    expect(log.of('error')).toEqual([]);
    await session.close();
  });

  it('a temperature (not part of the GA session) is logged and not sent', async () => {
    const { logger, lines } = capturingLogger();
    const session = await provider({ logger }).open({ ...MULAW, temperature: 0.7 });
    await session.close();
    expect(lines.some((l) => l.msg === 'openai-realtime: the GA session has no temperature; ignored')).toBe(true);
    expect(JSON.stringify(newest().eventsOf('session.update'))).not.toContain('temperature');
  });

  it('with transcription off, no transcript events and no transcription config', async () => {
    const session = await provider().open({ ...MULAW, transcription: false });
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(MULAW.outputFormat, 100), transcript: 'hello' });
    await feed(session, callerTurn(MULAW.inputFormat));
    await log.waitFor('response_done');
    await within(2000, 'close', session.close());
    expect(log.of('transcript')).toEqual([]);
    expect((newest().session?.audio as { input: Record<string, unknown> }).input.transcription).toBeUndefined();
  });
});
