/**
 * Shared conformance suite for every `TtsProvider` adapter (cloud or offline).
 *
 * Usage, inside a test file (start fixtures with beforeAll/afterAll around the call; factories are
 * called lazily inside each test):
 *
 * ```ts
 * runTtsConformance({
 *   name: 'flite',
 *   createProvider: () => new FliteTts({ voice: 'slt' }),
 *   formats: [{ sampleRate: 16000, encoding: 'pcm_s16le' }],
 *   text: ['Hello there. ', 'How can I help you today?'],
 *   minAudioMs: 500,
 *   oracle: (audio) => { ... },          // optional: e.g. recognise the audio and compare
 *   streamsInput: false,                  // true if audio must start before the text stream ends
 *   faults: [{ name: 'bad voice', createProvider: () => ..., retryable: false }],
 * });
 * ```
 *
 * What every adapter must do (each is one test):
 * - `name`, `encodings` and `sampleRates` are set and cover every harness format.
 * - For each format: the text (streamed as an AsyncIterable with small gaps) becomes 'audio' chunks
 *   of exactly that encoding and rate (`pcm` Int16Array for pcm_s16le, `bytes` for mulaw/alaw),
 *   at least `minAudioMs` in total; 'done' comes last, exactly once; alignment chunks, if any, have
 *   as many `startMs`/`durationMs` entries as `chars` and never go back in time across the utterance.
 * - `streamsInput: true`: the first audio arrives while the text stream is still open.
 * - Empty or whitespace-only text: no error, ends with 'done'.
 * - Cancellation: aborting the signal after the first audio ends the iterable within `abortWithinMs`
 *   (default 1500) without throwing and yields nothing after the abort; an already-aborted signal
 *   yields nothing at all; breaking out of `for await` early also cleans up. No leaked sockets,
 *   timers or child processes in any of these, and the `activeResources()` counts (worker pools)
 *   back at their starting value.
 * - Two syntheses run at the same time and both complete.
 * - Faults: iterating throws a `ProviderError` whose `retryable` (and `code`, if given) match, and
 *   nothing leaks.
 */
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/provider-error.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../../src/providers/types.ts';
import { resourcesGrownAfter, settledSnapshot, within, type ResourceCounter } from './stt-conformance.ts';

export interface TtsFormat {
  readonly sampleRate: number;
  readonly encoding: AudioEncoding;
}

export interface TtsFault {
  readonly name: string;
  /** A provider wired to fail (a fake server told to answer 401, drop mid-stream, a bad model dir...). */
  createProvider(): TtsProvider | Promise<TtsProvider>;
  readonly retryable: boolean;
  readonly code?: string;
}

/** Audio of one synthesis, concatenated. */
export interface TtsAudio {
  readonly format: TtsFormat;
  /** Samples for pcm_s16le. */
  readonly pcm?: Int16Array;
  /** Code words for mulaw / alaw. */
  readonly bytes?: Uint8Array;
  readonly durationMs: number;
}

export interface TtsConformanceHarness {
  readonly name: string;
  createProvider(): TtsProvider | Promise<TtsProvider>;
  /** Formats to test; each must be in the provider's encodings and sampleRates. */
  readonly formats: readonly TtsFormat[];
  /** The text, as the chunks a model would stream. */
  readonly text: readonly string[];
  readonly voice?: string;
  /** Minimum total audio expected (default 100 ms). */
  readonly minAudioMs?: number;
  /** Extra checks on the audio (e.g. recognise it). */
  oracle?(audio: TtsAudio): void | Promise<void>;
  /** The adapter speaks before the text stream ends (WebSocket input streaming). */
  readonly streamsInput?: boolean;
  readonly resultTimeoutMs?: number;
  readonly abortWithinMs?: number;
  /** How long resources may take to return to the baseline (default 2000 ms); false skips leak checks. */
  readonly leakSettleMs?: number | false;
  /**
   * Counts of the adapter's own resources that must come back to their starting value once a
   * synthesis has ended, e.g. a worker pool's busy workers and pending jobs (worker threads do not
   * show in `process.getActiveResourcesInfo()`).
   */
  activeResources?(): Readonly<Record<string, number>>;
  readonly faults?: readonly TtsFault[];
}

/** Text as an AsyncIterable with a small gap between chunks, like a model streaming tokens. */
export async function* streamText(chunks: readonly string[], gapMs = 5, signal?: AbortSignal): AsyncIterable<string> {
  for (const c of chunks) {
    if (signal?.aborted) return;
    await new Promise((r) => setTimeout(r, gapMs));
    yield c;
  }
}

/** Concatenate the audio chunks of one synthesis. */
export function joinTtsAudio(chunks: readonly TtsChunk[], format: TtsFormat): TtsAudio {
  let n = 0;
  for (const c of chunks) if (c.type === 'audio') n += format.encoding === 'pcm_s16le' ? (c.pcm?.length ?? 0) : (c.bytes?.length ?? 0);
  const durationMs = (n * 1000) / format.sampleRate;
  if (format.encoding === 'pcm_s16le') {
    const pcm = new Int16Array(n);
    let o = 0;
    for (const c of chunks) if (c.type === 'audio' && c.pcm) (pcm.set(c.pcm, o), (o += c.pcm.length));
    return { format, pcm, durationMs };
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) if (c.type === 'audio' && c.bytes) (bytes.set(c.bytes, o), (o += c.bytes.length));
  return { format, bytes, durationMs };
}

/** Shape checks for one completed synthesis. */
export function assertTtsChunks(chunks: readonly TtsChunk[], format: TtsFormat): void {
  expect(chunks.at(-1)?.type, "'done' is last").toBe('done');
  expect(chunks.filter((c) => c.type === 'done')).toHaveLength(1);
  let lastStart = -Infinity;
  for (const c of chunks) {
    if (c.type === 'audio') {
      expect(c.encoding).toBe(format.encoding);
      expect(c.sampleRate).toBe(format.sampleRate);
      if (format.encoding === 'pcm_s16le') {
        expect(c.pcm).toBeInstanceOf(Int16Array);
        expect(c.pcm?.length).toBeGreaterThan(0);
      } else {
        expect(c.bytes).toBeInstanceOf(Uint8Array);
        expect(c.bytes?.length).toBeGreaterThan(0);
      }
    } else if (c.type === 'alignment') {
      const a = c.alignment;
      expect(a.startMs).toHaveLength(a.chars.length);
      expect(a.durationMs).toHaveLength(a.chars.length);
      for (const s of a.startMs) {
        expect(s).toBeGreaterThanOrEqual(lastStart);
        lastStart = s;
      }
    }
  }
}

/** Register the TTS conformance tests for one adapter configuration. */
export function runTtsConformance(h: TtsConformanceHarness): void {
  const resultTimeout = h.resultTimeoutMs ?? 15_000;
  const abortWithin = h.abortWithinMs ?? 1500;
  const first = h.formats[0];
  if (first === undefined) throw new Error('tts conformance: at least one format');

  const request = (format: TtsFormat, text: AsyncIterable<string> = streamText(h.text)): TtsRequest => ({
    text,
    sampleRate: format.sampleRate,
    encoding: format.encoding,
    ...(h.voice !== undefined ? { voice: h.voice } : {}),
  });

  const extra: ResourceCounter | undefined = h.activeResources?.bind(h);

  async function leakCheck(base: Map<string, number>): Promise<void> {
    if (h.leakSettleMs === false) return;
    expect(await resourcesGrownAfter(base, h.leakSettleMs ?? 2000, extra), 'resources left open').toEqual([]);
  }

  async function drain(it: AsyncIterable<TtsChunk>): Promise<TtsChunk[]> {
    const out: TtsChunk[] = [];
    for await (const c of it) out.push(c);
    return out;
  }

  /** One full synthesis so lazily created pools and modules are in the leak baseline. */
  async function warmUp(provider: TtsProvider): Promise<Map<string, number>> {
    await drain(provider.synthesize(request(first as TtsFormat)));
    return settledSnapshot(100, 2000, extra);
  }

  describe(`TTS conformance: ${h.name}`, () => {
    it('advertises encodings and sample rates covering the harness formats', async () => {
      const provider = await h.createProvider();
      expect(provider.name.length).toBeGreaterThan(0);
      for (const f of h.formats) {
        expect(provider.encodings).toContain(f.encoding);
        expect(provider.sampleRates).toContain(f.sampleRate);
      }
    });

    for (const format of h.formats) {
      it(`synthesizes streamed text as ${format.encoding}@${format.sampleRate}, done last`, async () => {
        const provider = await h.createProvider();
        const chunks = await within(resultTimeout, 'synthesis', drain(provider.synthesize(request(format))));
        assertTtsChunks(chunks, format);
        const audio = joinTtsAudio(chunks, format);
        expect(audio.durationMs).toBeGreaterThanOrEqual(h.minAudioMs ?? 100);
        await h.oracle?.(audio);
      });
    }

    if (h.streamsInput === true) {
      it('starts speaking before the text stream ends', async () => {
        const provider = await h.createProvider();
        let gotAudio!: () => void;
        const firstAudio = new Promise<void>((r) => (gotAudio = r));
        let audioBeforeEnd = false;
        async function* text(): AsyncIterable<string> {
          const [head, ...rest] = h.text;
          yield head ?? 'Hello.';
          // Hold the rest back until audio for the first chunk arrived (or give up after a while).
          audioBeforeEnd = await within(resultTimeout, 'first audio', firstAudio).then(
            () => true,
            () => false,
          );
          for (const r of rest) yield r;
        }
        const chunks: TtsChunk[] = [];
        for await (const c of provider.synthesize(request(first, text()))) {
          chunks.push(c);
          if (c.type === 'audio') gotAudio();
        }
        expect(audioBeforeEnd, 'audio arrived while text was still streaming').toBe(true);
        assertTtsChunks(chunks, first);
      });
    }

    it('empty text ends with done and no error', async () => {
      const provider = await h.createProvider();
      const chunks = await within(resultTimeout, 'empty synthesis', drain(provider.synthesize(request(first, streamText(['', '  '])))));
      expect(chunks.at(-1)?.type).toBe('done');
      expect(chunks.filter((c) => c.type === 'done')).toHaveLength(1);
    });

    it('abort after the first audio ends promptly, yields nothing more, leaks nothing', async () => {
      const provider = await h.createProvider();
      const base = await warmUp(provider);
      const ac = new AbortController();
      let afterAbort = 0;
      let abortedAt = 0;
      // Long text so the synthesis is still running when we abort.
      const long = [...h.text, ...h.text, ...h.text, ...h.text];
      const run = (async () => {
        for await (const c of provider.synthesize(request(first, streamText(long)), ac.signal)) {
          if (ac.signal.aborted) afterAbort++;
          if (c.type === 'audio' && !ac.signal.aborted) {
            abortedAt = Date.now();
            ac.abort();
          }
        }
      })();
      await within(resultTimeout + abortWithin, 'iteration to end after abort', run);
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThanOrEqual(abortWithin);
      expect(afterAbort, 'chunks yielded after abort').toBe(0);
      await leakCheck(base);
    });

    it('an already-aborted signal yields nothing', async () => {
      const provider = await h.createProvider();
      const base = await warmUp(provider);
      const chunks = await within(abortWithin, 'aborted synthesis', drain(provider.synthesize(request(first), AbortSignal.abort())));
      expect(chunks).toEqual([]);
      await leakCheck(base);
    });

    it('breaking out of the iteration early cleans up', async () => {
      const provider = await h.createProvider();
      const base = await warmUp(provider);
      const long = [...h.text, ...h.text, ...h.text];
      await within(resultTimeout, 'first audio', (async () => {
        for await (const c of provider.synthesize(request(first, streamText(long)))) if (c.type === 'audio') break;
      })());
      await leakCheck(base);
    });

    it('two syntheses run at the same time', async () => {
      const provider = await h.createProvider();
      const [a, b] = await within(resultTimeout, 'two syntheses', Promise.all([
        drain(provider.synthesize(request(first))),
        drain(provider.synthesize(request(first))),
      ]));
      for (const chunks of [a, b]) {
        assertTtsChunks(chunks, first);
        expect(joinTtsAudio(chunks, first).durationMs).toBeGreaterThanOrEqual(h.minAudioMs ?? 100);
      }
    });

    for (const fault of h.faults ?? []) {
      it(`fault "${fault.name}" throws a typed ProviderError (retryable=${fault.retryable})`, async () => {
        const provider = await fault.createProvider();
        const base = await settledSnapshot(100, 2000, extra);
        const err = await within(resultTimeout, 'fault', drain(provider.synthesize(request(first))).then(
          () => undefined,
          (e: unknown) => e,
        ));
        expect(err).toBeInstanceOf(ProviderError);
        expect((err as ProviderError).retryable).toBe(fault.retryable);
        if (fault.code !== undefined) expect((err as ProviderError).code).toBe(fault.code);
        await leakCheck(base);
      });
    }
  });
}
