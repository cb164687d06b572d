/**
 * Gemini Live through the real `@google/genai` live client against a local fake that speaks the
 * BidiGenerateContent protocol: the shared realtime conformance suite (16 kHz in, 24 kHz out), then
 * the Gemini-specific setup shape, manual activity signals, goAway and resumption, cancellations.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/logger.ts';
import { GeminiLive, type GeminiLiveOptions } from '../../../src/providers/gemini-live/gemini-live.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import type { RealtimeSession, RealtimeSessionOptions, ToolDefinition } from '../../../src/providers/types.ts';
import { FakeGeminiLiveServer, type FakeLiveConnection } from '../../support/fake-gemini-live-server.ts';
import {
  audioOf,
  callerTurn,
  collectRealtimeEvents,
  feed,
  modelAudio,
  runRealtimeConformance,
  silence,
  speech,
  type RealtimeFakeControl,
} from '../../support/realtime-conformance.ts';

const KEY = 'gemini-test-key';
const server = new FakeGeminiLiveServer({ apiKey: KEY, userTranscript: 'where is my order' });
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

const OPTIONS: RealtimeSessionOptions = {
  instructions: 'You are the order desk. Be brief.',
  tools: TOOLS,
  inputFormat: { encoding: 'pcm_s16le', sampleRate: 16000 },
  outputFormat: { encoding: 'pcm_s16le', sampleRate: 24000 },
  turnDetection: 'server_vad',
  transcription: true,
};

function provider(extra: Partial<GeminiLiveOptions> = {}): GeminiLive {
  return tracked(new GeminiLive({
    apiKey: KEY,
    baseUrl: server.baseUrl,
    connectTimeoutMs: 3000,
    closeTimeoutMs: 1000,
    reconnect: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 },
    ...extra,
  }));
}

function newest(): FakeLiveConnection {
  const c = server.connections.at(-1);
  if (c === undefined) throw new Error('no connection');
  return c;
}

/** All connections of the current session (a resumed session spans several). */
function sessionConnections(): FakeLiveConnection[] {
  const all = server.connections;
  let start = all.length - 1;
  while (start > 0 && all[start]?.resumedFrom !== undefined) start--;
  return all.slice(start);
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
  queueToolCalls: (calls) => server.plans.push({ toolCalls: calls.map((c) => ({ name: c.name, args: c.args })) }),
  toolResults: () => newest().functionResponses.map((r) => ({ callId: r.id, output: (r.response as { output: unknown }).output })),
  toolContinuations: () => newest().toolResponses.length,
  userTexts: () => [...newest().userTexts],
  truncates: () => [],
  clientMessageCount: () => newest().clientMessages.length,
  dropNewest: (code) => newest().drop(code),
  sendMalformed: () => newest().sendMalformedBatch(),
  stallNext: () => {
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { stall: true } : {});
  },
  newestResumed: () => newest().resumedFrom !== undefined,
  reset: () => {
    server.plans.length = 0;
    server.faultsFor = () => ({});
  },
};

runRealtimeConformance({
  name: 'gemini-live PCM 16 kHz in, 24 kHz out',
  createProvider: (o?: { apiKey?: string; logger?: Logger; connectTimeoutMs?: number }) =>
    provider({
      ...(o?.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
      ...(o?.logger !== undefined ? { logger: o.logger } : {}),
      ...(o?.connectTimeoutMs !== undefined ? { connectTimeoutMs: o.connectTimeoutMs } : {}),
    }),
  options: OPTIONS,
  fake: control,
});

describe('gemini-live specifics', () => {
  it('sends the setup the SDK builds: model, AUDIO, instructions, JSON-schema tools, transcription, resumption, voice', async () => {
    const session = await provider({ voice: 'Puck' }).open({ ...OPTIONS, temperature: 0.4, model: 'gemini-2.5-flash-native-audio' });
    await feed(session, speech(OPTIONS.inputFormat, 40));
    await server.waitUntil(() => newest().audioBytes > 0);
    await session.close();
    const conn = newest();
    expect(conn.url).toBe(`//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=${KEY}`);
    expect(conn.setup).toEqual({
      model: 'models/gemini-2.5-flash-native-audio',
      generationConfig: { responseModalities: ['AUDIO'], temperature: 0.4, speechConfig: { voiceConfig: { prebuiltVoiceConfig: { voiceName: 'Puck' } } } },
      systemInstruction: { parts: [{ text: OPTIONS.instructions }], role: 'user' },
      tools: [{ functionDeclarations: TOOLS.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })) }],
      sessionResumption: {},
      inputAudioTranscription: {},
      outputAudioTranscription: {},
      contextWindowCompression: { slidingWindow: {} },
    });
    expect([...conn.mimeTypes]).toEqual(['audio/pcm;rate=16000']);
  });

  it('addHistory(): the conversation so far as client content (user and model turns, notes as user text), not answered', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    session.addHistory([
      { role: 'user', text: 'where is my order' },
      { role: 'note', text: 'Earlier in this call the tool lookup_order was called with {} and returned: shipped' },
      { role: 'assistant', text: 'It shipped yesterday' },
    ]);
    await server.waitUntil(() => newest().contentTurns.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    const cc = newest().messagesWith('clientContent');
    expect(cc).toHaveLength(1);
    expect((cc[0]?.clientContent as { turnComplete?: boolean }).turnComplete).toBeFalsy();
    expect(newest().contentTurns).toEqual([
      { role: 'user', text: 'where is my order' },
      { role: 'user', text: '[Note: Earlier in this call the tool lookup_order was called with {} and returned: shipped]' },
      { role: 'model', text: 'It shipped yesterday' },
    ]);
    expect(log.of('audio')).toEqual([]);
    await session.close();
  });

  it('8 kHz caller audio goes out as audio/pcm;rate=8000 without resampling', async () => {
    const narrow: RealtimeSessionOptions = { ...OPTIONS, inputFormat: { encoding: 'pcm_s16le', sampleRate: 8000 } };
    const session = await provider().open(narrow);
    const log = collectRealtimeEvents(session);
    const answer = modelAudio(narrow.outputFormat, 200, 31);
    server.plans.push({ audio: answer });
    const sent = callerTurn(narrow.inputFormat);
    await feed(session, sent);
    const done = await log.waitFor('response_done');
    expect([...newest().mimeTypes]).toEqual(['audio/pcm;rate=8000']);
    expect(Buffer.concat(newest().audio).equals(Buffer.from(sent))).toBe(true);
    expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
    await session.close();
  });

  it('manual turns: automatic detection disabled, activityStart before the audio, activityEnd on commit', async () => {
    const session = await provider().open({ ...OPTIONS, turnDetection: 'manual' });
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(OPTIONS.outputFormat, 100) });
    await feed(session, speech(OPTIONS.inputFormat, 100));
    session.commit();
    session.createResponse();
    await log.waitFor('response_done');
    await session.close();
    const conn = newest();
    expect(conn.setup?.realtimeInputConfig).toEqual({ automaticActivityDetection: { disabled: true } });
    const kinds = conn.clientMessages.slice(1).map((m) => Object.keys((m.realtimeInput as object | undefined) ?? m)[0]);
    expect(kinds[0]).toBe('activityStart');
    expect(kinds.at(-1)).toBe('activityEnd');
    expect(kinds.slice(1, -1).every((k) => k === 'audio')).toBe(true);
    // createResponse() after a commit asks for nothing more: activityEnd already did.
    expect(conn.messagesWith('clientContent')).toEqual([]);
  });

  it('goAway: resumes on a new socket with the latest handle before the old one is cut', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(OPTIONS.outputFormat, 100) });
    await feed(session, callerTurn(OPTIONS.inputFormat));
    await log.waitFor('response_done');
    const old = newest();
    const handshakes = server.handshakes;
    old.goAway(2000);
    const rec = await log.waitFor('reconnected');
    expect(rec).toMatchObject({ attempt: 1, resumed: true, droppedAudioBytes: 0 });
    expect(server.handshakes).toBe(handshakes + 1);
    expect(newest().resumedFrom).toBeDefined();
    expect(server.issuedHandles.has(newest().resumedFrom ?? '')).toBe(true);
    // The old socket was closed by us, normally, not by the server's deadline.
    await server.waitUntil(() => old.closeCode !== undefined);
    expect(old.closeCode).toBe(1000);
    const answer = modelAudio(OPTIONS.outputFormat, 100, 32);
    server.plans.push({ audio: answer });
    await feed(session, callerTurn(OPTIONS.inputFormat));
    const done = await log.waitFor('response_done', (e) => log.events.indexOf(e) > log.events.indexOf(rec));
    expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
    expect(log.of('error')).toEqual([]);
    await session.close();
  });

  it('audio appended while the socket is replaced is held and sent first on the new one', async () => {
    const session = await provider({ reconnect: { attempts: 3, baseDelayMs: 300, maxDelayMs: 300 } }).open(OPTIONS);
    const log = collectRealtimeEvents(session);
    // The first reconnect attempt is refused, so the adapter is still reconnecting while we feed.
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { handshakeStatus: 503 } : {});
    newest().drop(1006);
    await server.waitUntil(() => server.handshakes === next + 1);
    const held = speech(OPTIONS.inputFormat, 100, 500);
    await feed(session, held);
    expect(session.stats.bufferedAudioBytes).toBe(held.length);
    const rec = await log.waitFor('reconnected');
    expect(rec).toMatchObject({ attempt: 2, resumed: true, droppedAudioBytes: 0 });
    await server.waitUntil(() => newest().audioBytes >= held.length);
    expect(Buffer.concat(newest().audio).equals(Buffer.from(held))).toBe(true);
    expect(session.stats).toMatchObject({ bufferedAudioBytes: 0, droppedAudioBytes: 0 });
    await session.close();
  });

  it('past the outbox bound, the oldest held audio is dropped and counted', async () => {
    const session = await provider({ outboxMs: 100, reconnect: { attempts: 3, baseDelayMs: 300, maxDelayMs: 300 } }).open(OPTIONS);
    const log = collectRealtimeEvents(session);
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { handshakeStatus: 503 } : {});
    newest().drop(1006);
    await server.waitUntil(() => server.handshakes === next + 1);
    const older = speech(OPTIONS.inputFormat, 100, 500);
    const newer = speech(OPTIONS.inputFormat, 100, 700);
    await feed(session, older);
    await feed(session, newer);
    const rec = await log.waitFor('reconnected');
    expect(rec.droppedAudioBytes).toBe(older.length);
    expect(session.stats.droppedAudioBytes).toBe(older.length);
    await server.waitUntil(() => newest().audioBytes >= newer.length);
    expect(Buffer.concat(newest().audio).equals(Buffer.from(newer))).toBe(true);
    await session.close();
  });

  it('the caller interrupting a tool call: toolCallCancellation withdraws it and a late result is not sent', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    server.plans.push({ toolCalls: [{ name: 'lookup_order', args: { order: '9' } }] });
    await feed(session, callerTurn(OPTIONS.inputFormat));
    const call = await log.waitFor('tool_call');
    await feed(session, speech(OPTIONS.inputFormat, 100));
    const cancelled = await log.waitFor('tool_call_cancelled');
    expect(cancelled.callIds).toEqual([call.callId]);
    session.sendToolResult(call.callId, call.name, '{"late":true}');
    await new Promise((r) => setTimeout(r, 100));
    expect(newest().toolResponses).toEqual([]);
    await session.close();
  });

  it('JSON in binary frames is read like text frames', async () => {
    const next = server.handshakes;
    server.faultsFor = (i) => (i === next ? { binaryFrames: true } : {});
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    const answer = modelAudio(OPTIONS.outputFormat, 100, 33);
    server.plans.push({ audio: answer });
    await feed(session, callerTurn(OPTIONS.inputFormat));
    const done = await log.waitFor('response_done');
    expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
    await session.close();
  });

  it('a reconnect refused with 401 ends the session with a non-retryable auth error', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    const next = server.handshakes;
    server.faultsFor = (i) => (i >= next ? { handshakeStatus: 401 } : {});
    newest().drop(1011);
    const err = await log.waitFor('error');
    expect(err).toMatchObject({ fatal: true, retryable: false });
    expect(err.error).toMatchObject({ code: 'CR_PROVIDER_AUTH', status: 401 });
    await log.ended;
    expect(log.events.at(-1)).toEqual({ type: 'closed', reason: 'error' });
    expect(server.handshakes).toBe(next + 1);
    await session.close();
  });

  it('a close meaning "never" (1008) ends the session without a reconnect', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    const handshakes = server.handshakes;
    newest().closeWith(1008, 'Policy violation');
    const err = await log.waitFor('error');
    expect(err).toMatchObject({ fatal: true, retryable: false });
    expect(err.error).toMatchObject({ code: 'CR_PROVIDER_REJECTED' });
    await log.ended;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.handshakes).toBe(handshakes);
    await session.close();
  });

  it('cancelResponse() sends nothing (no such message) and drops the rest of the turn', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    server.plans.push({ audio: modelAudio(OPTIONS.outputFormat, 2000), speed: 1, burstMs: 40 });
    await feed(session, callerTurn(OPTIONS.inputFormat));
    const first = await log.waitFor('audio');
    const count = newest().clientMessages.length;
    session.cancelResponse();
    session.truncate(first.itemId, 10);
    const done = await log.waitFor('response_done');
    expect(done).toEqual({ type: 'response_done', responseId: first.responseId, status: 'cancelled' });
    await feed(session, silence(OPTIONS.inputFormat, 20));
    await new Promise((r) => setTimeout(r, 200));
    expect(newest().clientMessages.length).toBe(count + 1);
    expect(log.events.slice(log.events.indexOf(done)).filter((e) => e.type === 'audio')).toEqual([]);
    await session.close();
  });

  it('semantic_vad and G.711 are refused before any connection', async () => {
    const handshakes = server.handshakes;
    const vad = await provider().open({ ...OPTIONS, turnDetection: 'semantic_vad' }).catch((e: unknown) => e);
    expect(vad).toBeInstanceOf(ProviderError);
    expect(vad).toMatchObject({ code: 'CR_REALTIME_UNSUPPORTED', retryable: false });
    const ulaw = await provider().open({ ...OPTIONS, inputFormat: { encoding: 'mulaw', sampleRate: 8000 } }).catch((e: unknown) => e);
    expect(ulaw).toMatchObject({ code: 'CR_REALTIME_FORMAT', retryable: false });
    expect(server.handshakes).toBe(handshakes);
  });

  it('a session spanning several sockets keeps one event stream', async () => {
    const session = await provider().open(OPTIONS);
    const log = collectRealtimeEvents(session);
    newest().drop(1011);
    await log.waitFor('reconnected');
    newest().goAway(1000);
    await log.waitFor('reconnected', (e) => log.of('reconnected').indexOf(e) === 1);
    expect(sessionConnections()).toHaveLength(3);
    await session.close();
    await log.ended;
    expect(log.of('closed')).toEqual([{ type: 'closed', reason: 'client' }]);
  });
});
