/**
 * Deepgram live STT through the real `@deepgram/sdk` against a local fake that speaks the
 * `/v1/listen` wire protocol: the shared STT conformance suite (mu-law 8 kHz and linear16 16 kHz),
 * then the Deepgram-specific behaviour and faults.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import { DeepgramStt, type DeepgramSttOptions } from '../../../src/providers/deepgram/deepgram-stt.ts';
import type { SttSession, SttSessionOptions } from '../../../src/providers/types.ts';
import { FallbackStt } from '../../../src/providers/wrappers/fallback.ts';
import { MeteredStt } from '../../../src/providers/wrappers/with-metrics.ts';
import { RetryingStt } from '../../../src/providers/wrappers/with-retry.ts';
import { TimeoutStt } from '../../../src/providers/wrappers/with-timeout.ts';
import { FakeDeepgramServer } from '../../support/fake-deepgram-server.ts';
import { collectSttEvents, finalText, runSttConformance, within } from '../../support/stt-conformance.ts';

const KEY = 'test-key';
const UTTERANCE = 'please check the status of order four five six seven';
const WORD_MS = 60;

const server = new FakeDeepgramServer({ apiKey: KEY, transcript: [UTTERANCE], wordMs: WORD_MS, interimEveryMs: 100 });
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.faultsFor = () => ({});
});

function provider(extra: Partial<DeepgramSttOptions> = {}): DeepgramStt {
  return new DeepgramStt({
    apiKey: KEY,
    baseUrl: server.baseUrl,
    connectTimeoutMs: 1000,
    closeTimeoutMs: 1000,
    reconnect: { attempts: 2, baseDelayMs: 10, maxDelayMs: 40 },
    ...extra,
  });
}

/** 20 ms frames covering the utterance plus 200 ms, written without pacing. */
async function feed(session: SttSession, options: SttSessionOptions): Promise<void> {
  const words = UTTERANCE.split(' ').length;
  const frames = Math.ceil((words * WORD_MS + 200) / 20);
  const perFrame = options.sampleRate / 50;
  for (let i = 0; i < frames; i++) {
    if (options.encoding === 'mulaw') session.writeEncoded(new Uint8Array(perFrame).fill(0xff));
    else session.write({ samples: new Int16Array(perFrame), sampleRate: options.sampleRate, timestamp: i * 20 });
    if (i % 10 === 9) await new Promise((r) => setImmediate(r));
  }
}

/** Faults every run of the suite injects; `createProvider` arms the fake just before the test uses it. */
function faults() {
  return [
    {
      name: 'handshake 401 (bad key)',
      when: 'open' as const,
      createProvider: () => new DeepgramStt({ apiKey: 'wrong', baseUrl: server.baseUrl }),
      retryable: false,
      code: 'CR_PROVIDER_AUTH',
    },
    {
      name: 'slow open past the connect timeout',
      when: 'open' as const,
      createProvider: () => {
        server.faultsFor = () => ({ openDelayMs: 1500 });
        return provider({ connectTimeoutMs: 300 });
      },
      retryable: true,
      code: 'CR_PROVIDER_TIMEOUT',
    },
    {
      name: 'socket dropped mid-stream (1006), reconnects refused with 503',
      when: 'stream' as const,
      createProvider: () => {
        const first = server.handshakes;
        server.faultsFor = (i) => (i === first ? { dropAfterBytes: 800, dropCode: 1006 } : i > first ? { handshakeStatus: 503 } : {});
        return provider();
      },
      retryable: true,
      code: 'CR_PROVIDER_UNAVAILABLE',
    },
    {
      name: 'socket dropped mid-stream (1011), reconnect answered 401',
      when: 'stream' as const,
      createProvider: () => {
        const first = server.handshakes;
        server.faultsFor = (i) => (i === first ? { dropAfterBytes: 800, dropCode: 1011 } : i > first ? { handshakeStatus: 401 } : {});
        return provider();
      },
      retryable: false,
      code: 'CR_PROVIDER_AUTH',
    },
  ];
}

runSttConformance({
  name: 'deepgram mulaw 8 kHz',
  createProvider: () => provider(),
  sessionOptions: { sampleRate: 8000, encoding: 'mulaw' },
  feedUtterance: feed,
  expectText: UTTERANCE,
  faults: faults(),
});

runSttConformance({
  name: 'deepgram linear16 16 kHz',
  createProvider: () => provider(),
  sessionOptions: { sampleRate: 16000 },
  feedUtterance: feed,
  expectText: UTTERANCE,
  faults: faults(),
});

// The wrappers must keep the contract: metrics(fallback(bad key -> retry(timeout(deepgram)))).
runSttConformance({
  name: 'wrapped deepgram: metrics, fallback from a 401, retry, timeouts',
  createProvider: () =>
    new MeteredStt(
      new FallbackStt([
        new DeepgramStt({ apiKey: 'wrong', baseUrl: server.baseUrl }),
        new RetryingStt(new TimeoutStt(provider(), { openMs: 2000, firstResultMs: 5000 }), { attempts: 2, baseDelayMs: 10 }),
      ]),
      {},
    ),
  sessionOptions: { sampleRate: 8000, encoding: 'mulaw' },
  feedUtterance: feed,
  expectText: UTTERANCE,
});

describe('deepgram specifics', () => {
  it('sends the listen parameters and the auth header the SDK builds', async () => {
    const session = await provider().open({ sampleRate: 8000, encoding: 'mulaw', language: 'en-US' });
    await session.close();
    const q = server.connections.at(-1)?.query;
    expect(q?.get('model')).toBe('nova-3');
    expect(q?.get('encoding')).toBe('mulaw');
    expect(q?.get('sample_rate')).toBe('8000');
    expect(q?.get('channels')).toBe('1');
    expect(q?.get('interim_results')).toBe('true');
    expect(q?.get('endpointing')).toBe('300');
    expect(q?.get('utterance_end_ms')).toBe('1000');
    expect(q?.get('vad_events')).toBe('true');
    expect(q?.get('language')).toBe('en-US');
    expect(server.connections.at(-1)?.headers.authorization).toBe(`Token ${KEY}`);
  });

  it('passes mu-law bytes through untouched', async () => {
    const session = await provider().open({ sampleRate: 8000, encoding: 'mulaw' });
    const sent: number[] = [];
    for (let f = 0; f < 10; f++) {
      const frame = new Uint8Array(160);
      for (let i = 0; i < 160; i++) frame[i] = (f * 160 + i) & 0xff;
      sent.push(...frame);
      session.writeEncoded(frame);
      frame.fill(0); // the caller reuses its buffer at once
    }
    await session.close();
    const got = Buffer.concat(server.connections.at(-1)?.audio ?? []);
    expect([...got]).toEqual(sent);
  });

  it('maps Results, SpeechStarted and UtteranceEnd with words, interims before the final', async () => {
    const session = await provider().open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    await feed(session, { sampleRate: 8000, encoding: 'mulaw' });
    await within(5000, 'utterance end', log.waitFor((e) => e.type === 'utterance_end'));
    await session.close();
    await log.ended;
    const types = log.events.map((e) => e.type);
    expect(types[0]).toBe('speech_started');
    const finalIdx = log.events.findIndex((e) => e.type === 'transcript' && e.isFinal);
    const interims = log.events.filter((e) => e.type === 'transcript' && !e.isFinal);
    expect(interims.length).toBeGreaterThan(0);
    expect(log.events.findIndex((e) => e.type === 'transcript' && !e.isFinal)).toBeLessThan(finalIdx);
    const final = log.events[finalIdx];
    if (final?.type !== 'transcript') throw new Error('no final');
    expect(final.speechFinal).toBe(true);
    expect(final.words?.map((w) => w.word).join(' ')).toBe(UTTERANCE);
    expect(final.words?.[1]?.start).toBeCloseTo(WORD_MS / 1000, 5);
    expect(types.indexOf('utterance_end')).toBeGreaterThan(finalIdx);
  });

  it('keepAlive(), finalize() and close() send KeepAlive, Finalize and CloseStream', async () => {
    const session = await provider().open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    session.writeEncoded(new Uint8Array(160 * 5).fill(0xff)); // 100 ms: one word heard, not final
    session.keepAlive();
    session.finalize();
    const fin = await within(3000, 'finalize result', log.waitFor((e) => e.type === 'transcript' && e.isFinal));
    expect(fin.type === 'transcript' && fin.text).toBe(UTTERANCE.split(' ')[0]);
    await session.close();
    const controls = server.connections.at(-1)?.controls.map((c) => c.type);
    expect(controls).toEqual(['KeepAlive', 'Finalize', 'CloseStream']);
  });

  it('sends KeepAlive on its own while no audio is written', async () => {
    const t0 = Date.now();
    const session = await provider({ autoKeepAliveMs: 100 }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const conn = server.connections.at(-1)!;
    const keepAlives = (): number => conn.controls.filter((c) => c.type === 'KeepAlive').length;
    await within(3000, 'two automatic KeepAlives', (async () => {
      while (keepAlives() < 2) await new Promise((r) => setTimeout(r, 20));
    })());
    // Audio pushes the next one back.
    const before = keepAlives();
    for (let i = 0; i < 8; i++) {
      session.writeEncoded(new Uint8Array(160).fill(0xff));
      await new Promise((r) => setTimeout(r, 20));
    }
    const duringAudio = keepAlives() - before;
    await session.close();
    // At most one per interval elapsed (plus the one that may have been due as audio started).
    expect(keepAlives()).toBeLessThanOrEqual(Math.floor((Date.now() - t0) / 100) + 1);
    expect(duringAudio).toBeLessThanOrEqual(1);
  });

  it('reconnects after a dropped socket, resends the backlog and keeps session time', async () => {
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { dropAfterBytes: 480, dropCode: 1006 } : {});
    const session = await provider().open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    // Paced so that the drop is noticed while audio is still being written.
    const frames = Math.ceil((UTTERANCE.split(' ').length * WORD_MS + 400) / 20);
    for (let i = 0; i < frames; i++) {
      session.writeEncoded(new Uint8Array(160).fill(0xff));
      await new Promise((r) => setTimeout(r, 5));
    }
    await within(5000, 'final after reconnect', log.waitFor((e) => e.type === 'transcript' && e.isFinal));
    await session.close();
    await log.ended;
    expect(log.events.filter((e) => e.type === 'error')).toEqual([]);
    const conns = server.connections.filter((c) => c.index >= first);
    expect(conns).toHaveLength(2);
    expect(conns[0]?.closeCode).toBe(1006);
    const firstBytes = conns[0]?.audioBytes ?? 0;
    expect(firstBytes).toBeGreaterThanOrEqual(480);
    // Everything written reached one connection or the other, except frames sent into the dead socket.
    expect(firstBytes + (conns[1]?.audioBytes ?? 0)).toBeGreaterThan(frames * 160 - 10 * 160);
    expect(finalText(log.events)).toBe(UTTERANCE);
    // Timestamps from the second connection are shifted by the first connection's audio.
    const started = log.events.filter((e) => e.type === 'speech_started');
    expect(started.at(-1)?.type === 'speech_started' && started.at(-1)!.timestamp).toBeGreaterThanOrEqual(firstBytes / 8000);
  });

  it('ignores malformed server messages with a logged warning and keeps transcribing', async () => {
    const lines: string[] = [];
    const logger = createLogger(
      { level: 'warn', redactContent: false },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      }),
    );
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { malformedAfterBytes: 160 } : {});
    const session = await provider({ logger }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    await feed(session, { sampleRate: 8000, encoding: 'mulaw' });
    await session.close();
    await log.ended;
    expect(finalText(log.events)).toBe(UTTERANCE);
    expect(log.events.filter((e) => e.type === 'error')).toEqual([]);
    const warnings = lines.map((l) => JSON.parse(l) as { msg: string; reason?: string });
    expect(warnings.filter((w) => w.msg === 'deepgram: malformed message ignored').map((w) => w.reason)).toEqual([
      'not JSON',
      'Results without channel.alternatives',
      'Results without a transcript',
      'message without type',
      'unknown message type',
    ]);
    expect(warnings.some((w) => w.msg === 'deepgram: unexpected binary message ignored')).toBe(true);
  });

  it("the SDK's own reconnects are off: a dropped socket costs 1 + attempts handshakes, no more", async () => {
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { dropAfterBytes: 480, dropCode: 1006 } : i > first ? { handshakeStatus: 503 } : {});
    const session = await provider({ reconnect: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    for (let i = 0; i < 10; i++) session.writeEncoded(new Uint8Array(160).fill(0xff));
    const err = await within(5000, 'error after the bounded reconnects', log.waitFor((e) => e.type === 'error'));
    expect(err.type === 'error' && (err.error as ProviderError).code).toBe('CR_PROVIDER_UNAVAILABLE');
    await within(2000, 'events() to end', log.ended);
    // The SDK would retry a dropped socket after 1-5 s (30 times by default): wait past that.
    await new Promise((r) => setTimeout(r, 5200));
    expect(server.handshakes - first).toBe(1 + 2);
    await session.close();
  }, 15_000);

  it('with attempts 0 a dropped socket is not reopened at all: exactly 1 handshake', async () => {
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { dropAfterBytes: 480, dropCode: 1011 } : {});
    const session = await provider({ reconnect: { attempts: 0 } }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    for (let i = 0; i < 10; i++) session.writeEncoded(new Uint8Array(160).fill(0xff));
    const err = await within(5000, 'error after the drop', log.waitFor((e) => e.type === 'error'));
    expect(err.type === 'error' && err.retryable).toBe(true);
    await within(2000, 'events() to end', log.ended);
    // As above: long enough for an SDK reconnect (1-5 s) to show.
    await new Promise((r) => setTimeout(r, 5200));
    expect(server.handshakes - first).toBe(1);
    expect(server.openConnections).toBe(0);
    await session.close();
  }, 15_000);

  it('a socket that opens but never sends a byte does not hang finalize() or close()', async () => {
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { silent: true } : {});
    const session = await provider({ closeTimeoutMs: 300 }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    for (let i = 0; i < 50; i++) session.writeEncoded(new Uint8Array(160).fill(0xff));
    session.finalize();
    const t0 = Date.now();
    await within(1500, 'close() against a silent server', session.close());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    await within(1000, 'events() to end', log.ended);
    expect(log.events).toEqual([{ type: 'closed' }]);
    const conn = server.connections.find((c) => c.index === first);
    expect(conn?.controls.map((c) => c.type)).toEqual(['Finalize', 'CloseStream']);
    expect(conn?.audioBytes).toBe(50 * 160);
  });

  it('behind TimeoutStt, a silent socket fails with a retryable timeout once a transcript is due', async () => {
    const first = server.handshakes;
    server.faultsFor = (i) => (i === first ? { silent: true } : {});
    const session = await new TimeoutStt(provider({ closeTimeoutMs: 300 }), { openMs: 2000, firstResultMs: 200 }).open({ sampleRate: 8000, encoding: 'mulaw' });
    const log = collectSttEvents(session);
    for (let i = 0; i < 50; i++) session.writeEncoded(new Uint8Array(160).fill(0xff));
    session.finalize();
    const t0 = Date.now();
    await within(2000, 'events() to end', log.ended);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(log.events.map((e) => e.type)).toEqual(['error', 'closed']);
    const e = log.events[0];
    expect(e?.type === 'error' && [(e.error as ProviderError).code, e.retryable]).toEqual(['CR_PROVIDER_TIMEOUT', true]);
    await session.close();
  });

  it('a sample rate it cannot take is a typed, non-retryable ProviderError before any connection', async () => {
    const first = server.handshakes;
    const err = await provider().open({ sampleRate: 4000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_STT_FORMAT', retryable: false, provider: 'deepgram' });
    expect(server.handshakes).toBe(first);
  });

  it('a 401 from open() is a non-retryable ProviderError and leaves no socket open', async () => {
    const err = await new DeepgramStt({ apiKey: 'nope', baseUrl: server.baseUrl }).open({ sampleRate: 8000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).status).toBe(401);
    expect((err as ProviderError).retryable).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.openConnections).toBe(0);
  });
});
