/**
 * ElevenLabs TTS against a local fake that speaks the real wire protocols: HTTP streaming and
 * NDJSON with-timestamps through the real `@elevenlabs/elevenlabs-js` SDK, and stream-input over
 * `ws`. Each runs the shared TTS conformance suite, then the vendor specifics and faults.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.ts';
import { ElevenLabsHttpTts, type ElevenLabsHttpTtsOptions } from '../../../src/providers/elevenlabs/elevenlabs-http-tts.ts';
import { ElevenLabsWsTts, type ElevenLabsWsTtsOptions } from '../../../src/providers/elevenlabs/elevenlabs-ws-tts.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import { FallbackTts } from '../../../src/providers/wrappers/fallback.ts';
import { MeteredTts } from '../../../src/providers/wrappers/with-metrics.ts';
import { RetryingTts } from '../../../src/providers/wrappers/with-retry.ts';
import { TimeoutTts } from '../../../src/providers/wrappers/with-timeout.ts';
import type { TtsChunk, TtsProvider, TtsRequest } from '../../../src/providers/types.ts';
import { FakeElevenLabsServer, fakeAudio, type FakeElevenLabsFaults } from '../../support/fake-elevenlabs-server.ts';
import { joinTtsAudio, runTtsConformance, streamText, type TtsFault } from '../../support/tts-conformance.ts';

const KEY = 'xi-test';
const MS_PER_CHAR = 20;
const TEXT = ['Hello there. ', 'How can I ', 'help you today?'];
const FULL = TEXT.join('');

const server = new FakeElevenLabsServer({ apiKey: KEY, msPerChar: MS_PER_CHAR, chunkBytes: 999, chunkGapMs: 5 });
beforeAll(() => server.start());
afterAll(() => server.stop());
beforeEach(() => {
  server.faultsFor = () => ({});
});

/** Arm `faults` for the next request only (indexes count every request and upgrade). */
function armNext(faults: FakeElevenLabsFaults): void {
  const next = server.requestCount;
  server.faultsFor = (i) => (i >= next ? faults : {});
}

function http(extra: Partial<ElevenLabsHttpTtsOptions> = {}): ElevenLabsHttpTts {
  return new ElevenLabsHttpTts({ apiKey: KEY, baseUrl: server.baseUrl, voiceId: 'voice-1', requestTimeoutMs: 1000, firstAudioTimeoutMs: 1000, ...extra });
}

function wsTts(extra: Partial<ElevenLabsWsTtsOptions> = {}): ElevenLabsWsTts {
  return new ElevenLabsWsTts({ apiKey: KEY, baseUrl: server.baseUrl, voiceId: 'voice-1', connectTimeoutMs: 1000, firstAudioTimeoutMs: 1000, ...extra });
}

async function drain(it: AsyncIterable<TtsChunk>): Promise<TtsChunk[]> {
  const out: TtsChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function captureLogger(): { logger: ReturnType<typeof createLogger>; lines: Array<{ msg: string }> } {
  const lines: Array<{ msg: string }> = [];
  const logger = createLogger(
    { level: 'warn', redactContent: false },
    new Writable({
      write(chunk: Buffer, _e, cb) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        cb();
      },
    }),
  );
  return { logger, lines };
}

function httpFaults(make: (o?: Partial<ElevenLabsHttpTtsOptions>) => TtsProvider): TtsFault[] {
  return [
    { name: '401 bad key', createProvider: () => make({ apiKey: 'wrong' }), retryable: false, code: 'CR_PROVIDER_AUTH' },
    {
      name: '503 from the service',
      createProvider: () => (armNext({ status: 503 }), make()),
      retryable: true,
      code: 'CR_PROVIDER_UNAVAILABLE',
    },
    {
      name: 'socket dropped mid-stream',
      createProvider: () => (armNext({ dropAfterBytes: 2000 }), make()),
      retryable: true,
      code: 'CR_PROVIDER_UNAVAILABLE',
    },
    {
      name: 'slow first byte past the first-audio deadline',
      createProvider: () => (armNext({ firstByteDelayMs: 1500 }), make({ firstAudioTimeoutMs: 300 })),
      retryable: true,
      code: 'CR_PROVIDER_TIMEOUT',
    },
    {
      name: 'slow response headers past the request timeout',
      createProvider: () => (armNext({ headersDelayMs: 1500 }), make({ requestTimeoutMs: 300, firstAudioTimeoutMs: 5000 })),
      retryable: true,
      code: 'CR_PROVIDER_TIMEOUT',
    },
  ];
}

const formats = [
  { sampleRate: 8000, encoding: 'mulaw' as const },
  { sampleRate: 8000, encoding: 'alaw' as const },
  { sampleRate: 16000, encoding: 'pcm_s16le' as const },
  { sampleRate: 24000, encoding: 'pcm_s16le' as const },
];
const minAudioMs = FULL.trim().length * MS_PER_CHAR * 0.9;

runTtsConformance({
  name: 'elevenlabs http stream',
  createProvider: () => http(),
  formats,
  text: TEXT,
  minAudioMs,
  faults: httpFaults((o) => http(o)),
});

runTtsConformance({
  name: 'elevenlabs http with-timestamps',
  createProvider: () => http({ alignment: true }),
  formats: [formats[0]!, formats[2]!],
  text: TEXT,
  minAudioMs,
  faults: httpFaults((o) => http({ alignment: true, ...o })),
});

// The stream-input suite holds the text back after its first element until audio arrives, so that
// element must end in a cut the shared chunker can decide on its own: a comma and the space after it
// (a full stop waits for the next word: "approx. five" goes on).
const STREAMED_TEXT = ['Hello there, my friend, ', 'how can I ', 'help you today?'];

runTtsConformance({
  name: 'elevenlabs stream-input websocket',
  createProvider: () => wsTts(),
  formats,
  text: STREAMED_TEXT,
  minAudioMs,
  streamsInput: true,
  faults: [
    { name: 'handshake 401 (bad key)', createProvider: () => wsTts({ apiKey: 'wrong' }), retryable: false, code: 'CR_PROVIDER_AUTH' },
    {
      name: 'socket dropped mid-stream',
      createProvider: () => (armNext({ dropAfterBytes: 100 }), wsTts()),
      retryable: true,
      code: 'CR_PROVIDER_UNAVAILABLE',
    },
    {
      name: 'slow first audio past the deadline',
      createProvider: () => (armNext({ firstByteDelayMs: 1500 }), wsTts({ firstAudioTimeoutMs: 300 })),
      retryable: true,
      code: 'CR_PROVIDER_TIMEOUT',
    },
    {
      name: 'slow handshake past the connect timeout',
      createProvider: () => (armNext({ headersDelayMs: 1500 }), wsTts({ connectTimeoutMs: 300 })),
      retryable: true,
      code: 'CR_PROVIDER_TIMEOUT',
    },
  ],
});

// The wrappers must keep the contract: metrics(fallback(ws with a bad key -> retry(timeout(http)))).
runTtsConformance({
  name: 'wrapped elevenlabs: metrics, fallback from a 401, retry, timeouts',
  createProvider: () =>
    new MeteredTts(
      new FallbackTts([
        wsTts({ apiKey: 'wrong' }),
        new RetryingTts(new TimeoutTts(http(), { firstResultMs: 2000, totalMs: 10_000 }), { attempts: 2, baseDelayMs: 10 }),
      ]),
      {},
    ),
  formats: [formats[0]!, formats[2]!],
  text: TEXT,
  minAudioMs,
});

const req = (encoding: TtsRequest['encoding'], sampleRate: number, text: readonly string[] = TEXT): TtsRequest => ({
  text: streamText(text),
  encoding,
  sampleRate,
});

describe('elevenlabs http specifics', () => {
  it('asks for ulaw_8000 and passes the vendor bytes through untouched', async () => {
    const chunks = await drain(http().synthesize(req('mulaw', 8000)));
    const r = server.requests.at(-1)!;
    expect(r.kind).toBe('stream');
    expect(r.voice).toBe('voice-1');
    expect(r.query.get('output_format')).toBe('ulaw_8000');
    expect(r.headers['xi-api-key']).toBe(KEY);
    expect(r.messages[0]).toMatchObject({ text: FULL, model_id: 'eleven_flash_v2_5' });
    const audio = joinTtsAudio(chunks, { sampleRate: 8000, encoding: 'mulaw' });
    expect(Buffer.from(audio.bytes!).equals(fakeAudio('ulaw_8000', FULL.length, MS_PER_CHAR).bytes)).toBe(true);
  });

  it('reassembles PCM samples split across odd-sized chunks', async () => {
    const chunks = await drain(http().synthesize(req('pcm_s16le', 16000)));
    expect(server.requests.at(-1)!.query.get('output_format')).toBe('pcm_16000');
    const audio = joinTtsAudio(chunks, { sampleRate: 16000, encoding: 'pcm_s16le' });
    const expected = fakeAudio('pcm_16000', FULL.length, MS_PER_CHAR).bytes;
    expect(Buffer.from(audio.pcm!.buffer).equals(expected)).toBe(true);
    expect(chunks.filter((c) => c.type === 'audio').length).toBeGreaterThan(10);
  });

  it('keeps alignment from with-timestamps, in utterance milliseconds', async () => {
    const chunks = await drain(http({ alignment: true }).synthesize(req('mulaw', 8000)));
    expect(server.requests.at(-1)!.kind).toBe('with-timestamps');
    const al = chunks.flatMap((c) => (c.type === 'alignment' ? [c.alignment] : []));
    expect(al.flatMap((a) => a.chars).join('')).toBe(FULL);
    expect(al.flatMap((a) => a.startMs)).toEqual([...FULL].map((_, i) => i * MS_PER_CHAR));
    expect(al.flatMap((a) => a.durationMs).every((d) => Math.abs(d - MS_PER_CHAR) < 1e-6)).toBe(true);
  });

  it('skips a malformed NDJSON line with a warning and keeps the rest', async () => {
    const { logger, lines } = captureLogger();
    armNext({ malformed: true });
    const chunks = await drain(http({ alignment: true, logger }).synthesize(req('mulaw', 8000)));
    expect(chunks.at(-1)?.type).toBe('done');
    const audio = joinTtsAudio(chunks, { sampleRate: 8000, encoding: 'mulaw' });
    expect(audio.bytes!.length).toBe(fakeAudio('ulaw_8000', FULL.length, MS_PER_CHAR).bytes.length);
    expect(lines.map((l) => l.msg)).toContain('elevenlabs: malformed stream line ignored');
  });

  it('rejects an encoding/rate ElevenLabs cannot produce as non-retryable', async () => {
    const err = await drain(http().synthesize(req('mulaw', 16000))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).retryable).toBe(false);
  });

  it('a failing text stream is a non-retryable input error', async () => {
    async function* broken(): AsyncIterable<string> {
      yield 'Hello ';
      throw new Error('model crashed');
    }
    const err = await drain(http().synthesize({ text: broken(), encoding: 'mulaw', sampleRate: 8000 })).catch((e: unknown) => e);
    expect((err as ProviderError).code).toBe('CR_PROVIDER_INPUT');
  });
});

describe('elevenlabs stream-input specifics', () => {
  it('sends the init message, whole words, flush at sentence ends and the end marker', async () => {
    const chunks = await drain(
      wsTts({ voiceSettings: { stability: 0.5, similarityBoost: 0.8 }, chunkLengthSchedule: [50, 90] }).synthesize(
        req('mulaw', 8000, ['Hel', 'lo there. How', ' can I he', 'lp you today?']),
      ),
    );
    const r = server.requests.at(-1)!;
    expect(r.kind).toBe('stream-input');
    expect(r.query.get('model_id')).toBe('eleven_flash_v2_5');
    expect(r.query.get('output_format')).toBe('ulaw_8000');
    expect(r.headers['xi-api-key']).toBe(KEY);
    expect(r.messages).toEqual([
      { text: ' ', voice_settings: { stability: 0.5, similarity_boost: 0.8 }, generation_config: { chunk_length_schedule: [50, 90] } },
      { text: 'Hello there. ', flush: true },
      { text: 'How can I ' },
      { text: 'help you ' },
      { text: 'today? ' },
      { text: '' },
    ]);
    expect(chunks.at(-1)?.type).toBe('done');
  });

  it('shifts chunk-relative alignment to utterance time', async () => {
    const chunks = await drain(wsTts().synthesize(req('pcm_s16le', 16000)));
    const al = chunks.flatMap((c) => (c.type === 'alignment' ? [c.alignment] : []));
    expect(al.length).toBeGreaterThanOrEqual(2);
    const chars = al.flatMap((a) => a.chars).join('');
    expect(chars).toBe('Hello there. How can I help you today? ');
    expect(al.flatMap((a) => a.startMs)).toEqual([...chars].map((_, i) => i * MS_PER_CHAR));
  });

  it('ignores a malformed message with a warning', async () => {
    const { logger, lines } = captureLogger();
    armNext({ malformed: true });
    const chunks = await drain(wsTts({ logger }).synthesize(req('mulaw', 8000)));
    expect(chunks.at(-1)?.type).toBe('done');
    expect(lines.map((l) => l.msg)).toContain('elevenlabs-ws: malformed message ignored');
  });

  it('abort mid-utterance closes the socket at once', async () => {
    const ac = new AbortController();
    for await (const c of wsTts().synthesize(req('mulaw', 8000, [...TEXT, ...TEXT]), ac.signal)) {
      if (c.type === 'audio') ac.abort();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests.at(-1)!.closeCode).toBe(1006);
  });
});
