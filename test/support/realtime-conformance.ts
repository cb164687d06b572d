/**
 * Shared conformance suite for every `RealtimeProvider` (speech-to-speech) adapter, run against a
 * fake that speaks the vendor's wire protocol to the real SDK.
 *
 * Usage, inside a test file (start the fake in beforeAll; factories are called inside each test):
 *
 * ```ts
 * runRealtimeConformance({
 *   name: 'openai-realtime mulaw',
 *   createProvider: (o) => new OpenAiRealtime({ apiKey: o?.apiKey ?? KEY, baseUrl: fake.baseUrl, ca: fake.ca, ... }),
 *   options: { instructions, tools, inputFormat, outputFormat, turnDetection: 'server_vad', transcription: true },
 *   fake: { ...RealtimeFakeControl over the vendor fake },
 * });
 * ```
 *
 * What every adapter must do (each is one test):
 * - open/close: `closed` ('client') last and once, no error, sockets and timers back to the baseline.
 * - Caller audio reaches the vendor byte for byte; the model's audio comes back byte for byte, in
 *   `outputFormat`, under the ids `response_done` reports (with G.711 formats this is pass-through).
 * - Manual turns (`commit` + `createResponse`) and a greeting (`createResponse` alone) make the model speak.
 * - A tool call round trip; two concurrent calls each answered, and the model asked to go on once.
 * - `cancelResponse` ends the answer ('cancelled', no audio of it afterwards) and is harmless with
 *   nothing to cancel; `truncate` reaches the vendor with the played ms where the protocol has it.
 * - The caller speaking over the model: `interrupted` and `response_done` 'interrupted'.
 * - A dropped socket (1006 and 1011): resumable adapters emit `reconnected` (resumed with the handle)
 *   and go on; others emit a fatal retryable error, then `closed` ('error').
 * - 401 is a non-retryable CR_PROVIDER_AUTH; a server that never completes setup is a retryable
 *   CR_PROVIDER_TIMEOUT after one deadline; neither leaves a socket or timer behind.
 * - Malformed server messages are logged as warnings and skipped; the session goes on.
 * - The open() signal: aborting closes ('aborted'); an aborted signal rejects with AbortedError.
 * - `close()` is idempotent; every call after it is ignored without throwing.
 * - A format the vendor cannot take is refused before any connection (CR_REALTIME_FORMAT).
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/core/errors.ts';
import { createLogger, type Logger } from '../../src/core/logger.ts';
import { alawEncode, mulawEncode } from '../../src/media/g711.ts';
import { ProviderError } from '../../src/providers/provider-error.ts';
import type { RealtimeAudioFormat, RealtimeEvent, RealtimeProvider, RealtimeSession, RealtimeSessionOptions } from '../../src/providers/types.ts';
import { resourcesGrownAfter, settledSnapshot, within } from './stt-conformance.ts';

export { within } from './stt-conformance.ts';

/** What the suite needs from a vendor fake. */
export interface RealtimeFakeControl {
  readonly handshakes: number;
  readonly openConnections: number;
  /** Caller audio the newest connection received, joined. */
  receivedAudio(): Uint8Array;
  /** The next model turn speaks `audio` (in the output format) with `transcript`; `slow` paces it at real time. */
  queueSpeech(plan: { audio: Uint8Array; transcript?: string; slow?: boolean }): void;
  queueToolCalls(calls: ReadonlyArray<{ name: string; args: Record<string, unknown> }>): void;
  /** Tool results the vendor received, outputs parsed from JSON. */
  toolResults(): Array<{ callId: string; output: unknown }>;
  /** How many times the client asked the model to go on after tool results. */
  toolContinuations(): number;
  /** User text messages the vendor received (`sendText`), in order. */
  userTexts(): string[];
  /** `truncate`s the vendor received (empty for a protocol without one). */
  truncates(): Array<{ itemId: string; audioEndMs: number }>;
  /** Messages of any kind the newest connection received from the client. */
  clientMessageCount(): number;
  dropNewest(code: 1006 | 1011): void;
  sendMalformed(): void;
  /** The next connection attempt is accepted and then never answered. */
  stallNext(): void;
  /** Whether the newest connection resumed an earlier session with its handle. */
  newestResumed(): boolean;
  reset(): void;
}

export interface RealtimeConformanceHarness {
  readonly name: string;
  createProvider(o?: { apiKey?: string; logger?: Logger; connectTimeoutMs?: number }): RealtimeProvider;
  /** Base options, server VAD; the suite overrides fields per test. */
  readonly options: RealtimeSessionOptions;
  readonly fake: RealtimeFakeControl;
}

// ---------------------------------------------------------------------------------------------
// Audio and event helpers

/** `ms` of a loud tone (speech to an energy VAD) in `format`. */
export function speech(format: RealtimeAudioFormat, ms: number, freq = 300): Uint8Array {
  const n = Math.round((format.sampleRate * ms) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / format.sampleRate));
  return encode(format, pcm);
}

export function silence(format: RealtimeAudioFormat, ms: number): Uint8Array {
  return encode(format, new Int16Array(Math.round((format.sampleRate * ms) / 1000)));
}

function encode(format: RealtimeAudioFormat, pcm: Int16Array): Uint8Array {
  if (format.encoding === 'mulaw') return mulawEncode(pcm);
  if (format.encoding === 'alaw') return alawEncode(pcm);
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Distinct, recognisable model audio of `ms` in `format` (a ramp pattern, not a tone). */
export function modelAudio(format: RealtimeAudioFormat, ms: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(Math.round((format.sampleRate * ms * (format.encoding === 'pcm_s16le' ? 2 : 1)) / 1000));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + seed * 31) & 0xff;
  return bytes;
}

/**
 * Append `audio` in 20 ms frames without pacing (yielding now and then), reusing one frame buffer
 * the way the media path does, so an adapter that keeps a reference instead of a copy is caught.
 */
export async function feed(session: RealtimeSession, audio: Uint8Array): Promise<void> {
  const frame = Math.round((session.inputFormat.sampleRate / 50) * (session.inputFormat.encoding === 'pcm_s16le' ? 2 : 1));
  const buf = new Uint8Array(frame);
  for (let at = 0, i = 0; at < audio.length; at += frame, i++) {
    const piece = audio.subarray(at, at + frame);
    buf.set(piece);
    session.appendAudio(buf.subarray(0, piece.length));
    buf.fill(0x55);
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
}

/** A caller turn for a server VAD: speech then enough quiet to end it. */
export function callerTurn(format: RealtimeAudioFormat, speechMs = 300, quietMs = 400): Uint8Array {
  return join([speech(format, speechMs), silence(format, quietMs)]);
}

export function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface RealtimeEventLog {
  readonly events: RealtimeEvent[];
  readonly ended: Promise<void>;
  /** The first event matching `pred`, seen already or to come, within `ms`. */
  waitFor<T extends RealtimeEvent['type']>(type: T, pred?: (e: Extract<RealtimeEvent, { type: T }>) => boolean, ms?: number): Promise<Extract<RealtimeEvent, { type: T }>>;
  of<T extends RealtimeEvent['type']>(type: T): Array<Extract<RealtimeEvent, { type: T }>>;
}

export function collectRealtimeEvents(session: RealtimeSession): RealtimeEventLog {
  const events: RealtimeEvent[] = [];
  const waiters: Array<{ pred: (e: RealtimeEvent) => boolean; resolve: (e: RealtimeEvent) => void }> = [];
  const ended = (async () => {
    for await (const e of session.events()) {
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i];
        if (w !== undefined && w.pred(e)) {
          waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    }
  })();
  const log: RealtimeEventLog = {
    events,
    ended,
    waitFor(type, pred, ms = 5000) {
      const match = (e: RealtimeEvent): boolean => e.type === type && (pred === undefined || pred(e as never));
      const seen = events.find(match);
      if (seen !== undefined) return Promise.resolve(seen as never);
      return within(ms, `a '${type}' event`, new Promise((resolve) => waiters.push({ pred: match, resolve: resolve as (e: RealtimeEvent) => void })));
    },
    of(type) {
      return events.filter((e) => e.type === type) as never;
    },
  };
  return log;
}

/** Audio bytes of one response, joined. */
export function audioOf(events: readonly RealtimeEvent[], responseId?: string): Uint8Array {
  return join(events.flatMap((e) => (e.type === 'audio' && (responseId === undefined || e.responseId === responseId) ? [e.bytes] : [])));
}

/** A logger whose lines are kept, parsed, for assertions. */
export function capturingLogger(level = 'warn'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(
    { level, redactContent: false },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    }),
  );
  return { logger, lines };
}

function noErrors(log: RealtimeEventLog): void {
  expect(log.of('error').map((e) => `${e.error.code}: ${e.error.message}`)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// The suite

export function runRealtimeConformance(h: RealtimeConformanceHarness): void {
  const fake = h.fake;
  const opts = h.options;
  const inFmt = opts.inputFormat;
  const outFmt = opts.outputFormat;

  // Sessions a test opened are closed after it even when it fails, so one failure cannot leak into
  // the next test's resource baseline.
  const opened: RealtimeSession[] = [];
  const createProvider = (o?: Parameters<RealtimeConformanceHarness['createProvider']>[0]): RealtimeProvider => {
    const p = h.createProvider(o);
    const open = p.open.bind(p);
    return {
      name: p.name,
      capabilities: p.capabilities,
      open: async (options, signal) => {
        const session = await open(options, signal);
        opened.push(session);
        return session;
      },
    };
  };

  async function openSession(extra: Partial<RealtimeSessionOptions> = {}, signal?: AbortSignal): Promise<{ session: RealtimeSession; log: RealtimeEventLog }> {
    fake.reset();
    const session = await createProvider().open({ ...opts, ...extra }, signal);
    return { session, log: collectRealtimeEvents(session) };
  }

  async function finish(session: RealtimeSession, log: RealtimeEventLog): Promise<void> {
    await within(3000, 'close()', session.close());
    await within(3000, 'events() to end', log.ended);
    const closed = log.of('closed');
    expect(closed).toHaveLength(1);
    expect(log.events.at(-1)?.type).toBe('closed');
  }

  async function leakFree(base: Map<string, number>): Promise<void> {
    expect(await resourcesGrownAfter(base, 2000), 'resources left open').toEqual([]);
  }

  describe(`Realtime conformance: ${h.name}`, () => {
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
      fake.reset();
    });

    it('advertises the formats it was opened with', () => {
      const p = h.createProvider();
      expect(p.name.length).toBeGreaterThan(0);
      const has = (list: readonly RealtimeAudioFormat[], f: RealtimeAudioFormat): boolean => list.some((x) => x.encoding === f.encoding && x.sampleRate === f.sampleRate);
      expect(has(p.capabilities.inputFormats, inFmt)).toBe(true);
      expect(has(p.capabilities.outputFormats, outFmt)).toBe(true);
    });

    it('opens and closes without leaking sockets or timers', async () => {
      const warm = await openSession();
      await finish(warm.session, warm.log);
      const base = await settledSnapshot(100, 2000);
      const { session, log } = await openSession();
      expect(session.inputFormat).toEqual(inFmt);
      expect(session.outputFormat).toEqual(outFmt);
      await finish(session, log);
      noErrors(log);
      expect(log.of('closed')[0]?.reason).toBe('client');
      await leakFree(base);
      expect(fake.openConnections).toBe(0);
    });

    it("caller audio reaches the vendor byte for byte and the model's audio comes back byte for byte", async () => {
      const { session, log } = await openSession();
      const answer = modelAudio(outFmt, 600);
      fake.queueSpeech({ audio: answer, transcript: 'your order has shipped' });
      const sent = callerTurn(inFmt);
      await feed(session, sent);
      const done = await log.waitFor('response_done', (e) => e.status === 'completed');
      expect(Buffer.from(fake.receivedAudio()).equals(Buffer.from(sent))).toBe(true);
      expect(session.stats.sentAudioBytes).toBe(sent.length);
      const audio = log.of('audio');
      expect(audio.length).toBeGreaterThan(1);
      for (const a of audio) {
        expect(a.format).toEqual(outFmt);
        expect(a.responseId).toBe(done.responseId);
        expect(a.itemId).toBe(audio[0]?.itemId);
      }
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
      if (opts.transcription) {
        const finals = log.of('transcript').filter((t) => t.final);
        expect(finals.find((t) => t.role === 'assistant')?.text).toBe('your order has shipped');
        expect(finals.find((t) => t.role === 'user')?.text.trim().length).toBeGreaterThan(0);
        // The caller's words come before the model's.
        expect(log.events.findIndex((e) => e.type === 'transcript' && e.role === 'user')).toBeLessThan(log.events.findIndex((e) => e.type === 'audio'));
      }
      noErrors(log);
      await finish(session, log);
    });

    it('manual turns: commit() then createResponse() make the model answer', async () => {
      const { session, log } = await openSession({ turnDetection: 'manual' });
      const answer = modelAudio(outFmt, 300, 2);
      fake.queueSpeech({ audio: answer });
      const sent = speech(inFmt, 200);
      await feed(session, sent);
      session.commit();
      session.createResponse();
      const done = await log.waitFor('response_done', (e) => e.status === 'completed');
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
      expect(Buffer.from(fake.receivedAudio()).equals(Buffer.from(sent))).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(log.of('response_done')).toHaveLength(1);
      noErrors(log);
      await finish(session, log);
    });

    it('createResponse() with no caller audio makes the model speak first (a greeting)', async () => {
      const { session, log } = await openSession();
      const hello = modelAudio(outFmt, 200, 3);
      fake.queueSpeech({ audio: hello, transcript: 'hello how can I help' });
      session.createResponse();
      const done = await log.waitFor('response_done', (e) => e.status === 'completed');
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(hello))).toBe(true);
      noErrors(log);
      await finish(session, log);
    });

    it('sendText() adds the caller\'s words as a user message and the model answers them', async () => {
      const { session, log } = await openSession();
      const reply = modelAudio(outFmt, 200, 9);
      fake.queueSpeech({ audio: reply, transcript: 'you chose option two' });
      session.sendText('[The caller pressed 2 on the keypad]');
      const done = await log.waitFor('response_done', (e) => e.status === 'completed');
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(reply))).toBe(true);
      expect(fake.userTexts()).toEqual(['[The caller pressed 2 on the keypad]']);
      noErrors(log);
      await finish(session, log);
    });

    it('sendText() over an answer being cancelled (keys pressed while the model speaks) is answered after it, without an error', async () => {
      const { session, log } = await openSession();
      fake.queueSpeech({ audio: modelAudio(outFmt, 3000, 10), slow: true });
      const reply = modelAudio(outFmt, 200, 11);
      fake.queueSpeech({ audio: reply });
      await feed(session, callerTurn(inFmt));
      const first = await log.waitFor('audio');
      session.cancelResponse();
      session.sendText('[The caller pressed 1 on the keypad]');
      const done = await log.waitFor('response_done', (e) => e.responseId !== first.responseId && e.status === 'completed');
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(reply))).toBe(true);
      expect(fake.userTexts()).toEqual(['[The caller pressed 1 on the keypad]']);
      noErrors(log);
      await finish(session, log);
    });

    it('a tool call round trip: call, result, and the model goes on', async () => {
      const { session, log } = await openSession();
      fake.queueToolCalls([{ name: 'lookup_order', args: { order: '4567' } }]);
      const answer = modelAudio(outFmt, 300, 4);
      fake.queueSpeech({ audio: answer, transcript: 'it has shipped' });
      await feed(session, callerTurn(inFmt));
      const call = await log.waitFor('tool_call');
      expect(call.name).toBe('lookup_order');
      expect(JSON.parse(call.arguments)).toEqual({ order: '4567' });
      session.sendToolResult(call.callId, call.name, JSON.stringify({ status: 'shipped' }));
      const done = await log.waitFor('response_done', (e) => e.status === 'completed' && audioOf(log.events, e.responseId).length > 0);
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
      expect(fake.toolResults()).toEqual([{ callId: call.callId, output: { status: 'shipped' } }]);
      expect(fake.toolContinuations()).toBe(1);
      noErrors(log);
      await finish(session, log);
    });

    it('two concurrent tool calls are each answered, and the model is asked to go on once', async () => {
      const { session, log } = await openSession();
      fake.queueToolCalls([
        { name: 'lookup_order', args: { order: '1' } },
        { name: 'check_stock', args: { sku: 'A-9' } },
      ]);
      const answer = modelAudio(outFmt, 200, 5);
      fake.queueSpeech({ audio: answer });
      await feed(session, callerTurn(inFmt));
      await log.waitFor('tool_call', (e) => e.name === 'check_stock');
      const [first, second] = log.of('tool_call');
      if (first === undefined || second === undefined) throw new Error('two calls expected');
      expect(first.callId).not.toBe(second.callId);
      // Answered out of order, the second a little later, as real tools finish.
      session.sendToolResult(second.callId, second.name, '{"in_stock":3}');
      await new Promise((r) => setTimeout(r, 50));
      expect(fake.toolContinuations()).toBe(0);
      session.sendToolResult(first.callId, first.name, 'plain text result');
      const done = await log.waitFor('response_done', (e) => e.status === 'completed' && audioOf(log.events, e.responseId).length > 0);
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
      const results = fake.toolResults();
      expect(results).toHaveLength(2);
      expect(results).toContainEqual({ callId: second.callId, output: { in_stock: 3 } });
      expect(results).toContainEqual({ callId: first.callId, output: 'plain text result' });
      await new Promise((r) => setTimeout(r, 100));
      expect(fake.toolContinuations()).toBe(1);
      // A result for a call nobody made is dropped, not sent.
      session.sendToolResult('no-such-call', 'lookup_order', '{}');
      await new Promise((r) => setTimeout(r, 50));
      expect(fake.toolResults()).toHaveLength(2);
      noErrors(log);
      await finish(session, log);
    });

    it('cancelResponse() ends the answer; truncate() reaches the vendor with the ms played', async () => {
      const { session, log } = await openSession();
      fake.queueSpeech({ audio: modelAudio(outFmt, 3000, 6), transcript: 'a long answer that goes on and on', slow: true });
      await feed(session, callerTurn(inFmt));
      const first = await log.waitFor('audio');
      const before = fake.clientMessageCount();
      session.cancelResponse();
      const done = await log.waitFor('response_done', (e) => e.responseId === first.responseId);
      expect(done.status).toBe('cancelled');
      const at = log.events.indexOf(done);
      await new Promise((r) => setTimeout(r, 300));
      expect(log.events.slice(at).filter((e) => e.type === 'audio' && e.responseId === first.responseId)).toEqual([]);
      // Played: what the first event held, at most (a real bridge counts samples sent to the line).
      const bytesPerMs = (outFmt.sampleRate * (outFmt.encoding === 'pcm_s16le' ? 2 : 1)) / 1000;
      const playedMs = Math.floor(first.bytes.length / bytesPerMs);
      session.truncate(first.itemId, playedMs);
      const caps = h.createProvider().capabilities;
      if (caps.truncate) {
        await within(3000, 'the truncate at the vendor', (async () => {
          while (fake.truncates().length === 0) await new Promise((r) => setTimeout(r, 10));
        })());
        expect(fake.truncates()).toEqual([{ itemId: first.itemId, audioEndMs: playedMs }]);
      } else {
        await new Promise((r) => setTimeout(r, 100));
        expect(fake.truncates()).toEqual([]);
      }
      expect(fake.clientMessageCount()).toBeLessThanOrEqual(before + 2);
      // Nothing left to cancel: the vendor's "not active" answer is not an error for the caller.
      session.cancelResponse();
      await new Promise((r) => setTimeout(r, 200));
      noErrors(log);
      await finish(session, log);
    });

    it('the caller speaking over the model interrupts it', async () => {
      const { session, log } = await openSession();
      fake.queueSpeech({ audio: modelAudio(outFmt, 3000, 7), slow: true });
      fake.queueSpeech({ audio: modelAudio(outFmt, 100, 8) });
      await feed(session, callerTurn(inFmt));
      const first = await log.waitFor('audio');
      await feed(session, speech(inFmt, 200));
      const cut = await log.waitFor('interrupted');
      expect(cut.responseId).toBe(first.responseId);
      const done = await log.waitFor('response_done', (e) => e.responseId === first.responseId);
      expect(done.status).toBe('interrupted');
      expect(log.events.indexOf(cut)).toBeLessThan(log.events.indexOf(done));
      // The barge-in turn is answered in its own response.
      await feed(session, silence(inFmt, 400));
      await log.waitFor('response_done', (e) => e.responseId !== first.responseId && e.status === 'completed');
      noErrors(log);
      await finish(session, log);
    });

    for (const code of [1006, 1011] as const) {
      it(`a socket dropped mid-session (${code})`, async () => {
        const { session, log } = await openSession();
        const handshakes = fake.handshakes;
        fake.queueSpeech({ audio: modelAudio(outFmt, 100, 9) });
        await feed(session, callerTurn(inFmt));
        await log.waitFor('response_done');
        fake.dropNewest(code);
        if (h.createProvider().capabilities.resumable) {
          // Audio written while the socket is replaced waits and goes out on the new one.
          await feed(session, silence(inFmt, 100));
          const rec = await log.waitFor('reconnected');
          expect(rec.resumed).toBe(true);
          expect(fake.handshakes).toBe(handshakes + 1);
          expect(fake.newestResumed()).toBe(true);
          const answer = modelAudio(outFmt, 200, 10);
          fake.queueSpeech({ audio: answer });
          await feed(session, callerTurn(inFmt));
          const done = await log.waitFor('response_done', (e) => e.status === 'completed' && log.events.indexOf(e) > log.events.indexOf(rec));
          expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
          noErrors(log);
          await finish(session, log);
        } else {
          const err = await log.waitFor('error');
          expect(err.fatal).toBe(true);
          expect(err.retryable).toBe(true);
          expect(err.error).toBeInstanceOf(ProviderError);
          expect(err.error.code).toBe('CR_PROVIDER_UNAVAILABLE');
          await within(2000, 'events() to end', log.ended);
          expect(log.events.at(-1)).toEqual({ type: 'closed', reason: 'error' });
          // Nothing reconnects behind the caller's back.
          await new Promise((r) => setTimeout(r, 300));
          expect(fake.handshakes).toBe(handshakes);
          await within(1000, 'close() after the drop', session.close());
        }
      });
    }

    it('a 401 is a non-retryable CR_PROVIDER_AUTH and leaves nothing open', async () => {
      fake.reset();
      const base = await settledSnapshot(100, 2000);
      const err = await createProvider({ apiKey: 'wrong-key' }).open(opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'CR_PROVIDER_AUTH', retryable: false, status: 401 });
      await leakFree(base);
    });

    it('a server that never completes setup fails after one deadline, retryable, without leaks', async () => {
      fake.reset();
      const base = await settledSnapshot(100, 2000);
      fake.stallNext();
      const t0 = Date.now();
      const err = await createProvider({ connectTimeoutMs: 300 }).open(opts).catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'CR_PROVIDER_TIMEOUT', retryable: true });
      expect(took).toBeGreaterThanOrEqual(280);
      expect(took).toBeLessThan(1500);
      await leakFree(base);
      expect(fake.openConnections).toBe(0);
    });

    it('malformed server messages are ignored with a warning, and the session goes on', async () => {
      fake.reset();
      const { logger, lines } = capturingLogger();
      const session = await createProvider({ logger }).open(opts);
      const log = collectRealtimeEvents(session);
      fake.sendMalformed();
      const answer = modelAudio(outFmt, 200, 11);
      fake.queueSpeech({ audio: answer });
      await feed(session, callerTurn(inFmt));
      const done = await log.waitFor('response_done', (e) => e.status === 'completed');
      expect(Buffer.from(audioOf(log.events, done.responseId)).equals(Buffer.from(answer))).toBe(true);
      const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('malformed message ignored'));
      expect(warnings.length).toBeGreaterThanOrEqual(5);
      expect(lines.filter((l) => l.level === 50)).toEqual([]);
      noErrors(log);
      await finish(session, log);
    });

    it("aborting open()'s signal closes the session ('aborted'); an aborted signal never connects", async () => {
      const handshakes = fake.handshakes;
      await expect(createProvider().open(opts, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
      expect(fake.handshakes).toBe(handshakes);
      const base = await settledSnapshot(100, 2000);
      const ac = new AbortController();
      const { session, log } = await openSession({}, ac.signal);
      ac.abort();
      await within(3000, 'events() to end after abort', log.ended);
      expect(log.events.at(-1)).toEqual({ type: 'closed', reason: 'aborted' });
      noErrors(log);
      await within(1000, 'close() after abort', session.close());
      await leakFree(base);
    });

    it('close() is idempotent and every call after it is ignored', async () => {
      const { session, log } = await openSession();
      await Promise.all([session.close(), session.close()]);
      await session.close();
      await log.ended;
      const count = log.events.length;
      expect(() => {
        session.appendAudio(speech(inFmt, 20));
        session.commit();
        session.createResponse();
        session.sendToolResult('x', 'y', '{}');
        session.cancelResponse();
        session.truncate('item', 10);
      }).not.toThrow();
      await new Promise((r) => setTimeout(r, 50));
      expect(log.events).toHaveLength(count);
    });

    it('a format the vendor cannot take is refused before any connection', async () => {
      const handshakes = fake.handshakes;
      const err = await createProvider().open({ ...opts, inputFormat: { encoding: 'alaw', sampleRate: 16000 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect(err).toMatchObject({ code: 'CR_REALTIME_FORMAT', retryable: false });
      expect(fake.handshakes).toBe(handshakes);
    });
  });
}
