import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../../../src/core/logger.ts';
import { AbortedError } from '../../../../src/core/errors.ts';
import { readWav } from '../../../../src/media/wav.ts';
import { PocketsphinxPool } from '../../../../src/providers/pocketsphinx/decoder-pool.ts';
import { PocketsphinxStt, type PocketsphinxSttOptions } from '../../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import type { SttEvent, SttSession } from '../../../../src/providers/types.ts';
import { FallbackStt, type SkippedProvider } from '../../../../src/providers/wrappers/fallback.ts';
import { ScriptedStt } from '../wrappers/fakes.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures', 'speech');
const speech = readWav(readFileSync(join(FIXTURES, 'cancel-subscription-slt.wav'))).samples;

const pool = new PocketsphinxPool({ maxDecoders: 2 });
afterAll(async () => {
  await pool.close();
});

function collect(session: SttSession): { events: SttEvent[]; ended: Promise<void> } {
  const events: SttEvent[] = [];
  const ended = (async () => {
    for await (const e of session.events()) events.push(e);
  })();
  return { events, ended };
}

/** Write 16 kHz audio followed by `silenceMs` of silence, in 20 ms frames. */
function write(session: SttSession, pcm: Int16Array, silenceMs = 0, rate = 16000): void {
  const all = new Int16Array(pcm.length + (silenceMs * rate) / 1000);
  all.set(pcm);
  const n = rate / 50;
  for (let i = 0; i < all.length; i += n) session.write({ samples: all.subarray(i, Math.min(all.length, i + n)), sampleRate: rate, timestamp: (i * 1000) / rate });
}

const finals = (events: readonly SttEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'transcript' && e.isFinal && e.text !== '' ? [e.text] : []));

describe('PocketsphinxStt', () => {
  it('supports wideband rates only', () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    expect(stt.supportsSampleRate(8000)).toBe(false);
    expect(stt.supportsSampleRate(11025)).toBe(false);
    expect(stt.supportsSampleRate(16000)).toBe(true);
    expect(stt.supportsSampleRate(48000)).toBe(true);
  });

  it('refuses an 8 kHz session with CR_STT_NARROWBAND_UNSUPPORTED and logs it', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const stt = new PocketsphinxStt({ pool, logger: createLogger({ level: 'info', redactContent: false }, sink) });
    const before = pool.size;
    const err = await stt.open({ sampleRate: 8000, encoding: 'mulaw' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_STT_NARROWBAND_UNSUPPORTED', retryable: false, provider: 'pocketsphinx' });
    expect((err as Error).message).toMatch(/wideband/);
    expect(pool.size).toBe(before);
    await new Promise((r) => setImmediate(r));
    expect(lines.join('')).toMatch(/narrowband/);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 40, sampleRate: 8000 });
  });

  it('needs a logger: the narrowband refusal cannot go unlogged for want of one', () => {
    // @ts-expect-error -- `logger` is a required option (tsc checks this line).
    const options: PocketsphinxSttOptions = { pool };
    expect(() => new PocketsphinxStt(options)).toThrow(TypeError);
  });

  it('behind FallbackStt, a narrowband call skips it with the reason code the call record shows', async () => {
    const lines: Array<{ msg: string; provider?: string; code?: string; level: number }> = [];
    const logger = createLogger({ level: 'info', redactContent: false }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }));
    const skipped: SkippedProvider[] = [];
    const served: Array<{ provider: string; skipped: readonly SkippedProvider[] }> = [];
    const narrow = new ScriptedStt('sherpa-onnx', ['ok'], [8000, 16000], ['pcm_s16le', 'mulaw']);
    const fb = new FallbackStt([new PocketsphinxStt({ logger, pool }), narrow], {
      logger,
      onSkipped: (e) => skipped.push(e),
      onServed: (e) => served.push(e),
    });
    const before = pool.size;
    const { session, provider } = await fb.openServed({ sampleRate: 8000, encoding: 'mulaw' });
    expect(provider).toBe('sherpa-onnx');
    expect(skipped.map((e) => [e.provider, e.code])).toEqual([['pocketsphinx', 'CR_STT_NARROWBAND_UNSUPPORTED']]);
    expect(served).toEqual([{ kind: 'stt', provider: 'sherpa-onnx', skipped }]);
    expect(pool.size).toBe(before);
    await session.close();
    await new Promise((r) => setImmediate(r));
    const line = lines.find((l) => l.msg === 'fallback: provider skipped, cannot serve this format');
    expect(line).toMatchObject({ provider: 'pocketsphinx', code: 'CR_STT_NARROWBAND_UNSUPPORTED', level: 40 });
  });

  it('names every missing model file (non-retryable CR_STT_MODEL)', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), modelDir: '/nonexistent/model' });
    const err = await stt.open({ sampleRate: 16000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CR_STT_MODEL', retryable: false });
    expect((err as Error).message).toContain('/nonexistent/model/en-us');
    expect((err as Error).message).toContain('en-us.lm.bin');
    expect((err as Error).message).toContain('cmudict-en-us.dict');
    await stt.close();
  });

  it('refuses languages other than English (CR_STT_LANGUAGE)', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    await expect(stt.open({ sampleRate: 16000, language: 'de-DE' })).rejects.toMatchObject({ code: 'CR_STT_LANGUAGE', retryable: false });
  });

  it('a missing library is a non-retryable CR_STT_ENGINE error', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), libraryPath: 'libpocketsphinx-does-not-exist.so.9' });
    await expect(stt.open({ sampleRate: 16000 })).rejects.toMatchObject({ code: 'CR_STT_ENGINE', retryable: false });
    await stt.close();
  });

  it('an already-aborted signal rejects with AbortedError', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    await expect(stt.open({ sampleRate: 16000 }, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
  });

  it('streams interims, then a final with word timings, speech_started first and closed last', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const session = await stt.open({ sampleRate: 16000 });
    const log = collect(session);
    write(session, speech, 300);
    await session.close();
    await log.ended;
    const types = log.events.map((e) => e.type);
    expect(types[0]).toBe('speech_started');
    expect(types.at(-1)).toBe('closed');
    const interims = log.events.filter((e) => e.type === 'transcript' && !e.isFinal);
    expect(interims.length).toBeGreaterThan(1);
    expect(finals(log.events)).toEqual(['i want to cancel my subscription']);
    const final = log.events.find((e) => e.type === 'transcript' && e.isFinal);
    const words = final?.type === 'transcript' ? (final.words ?? []) : [];
    expect(words.map((w) => w.word)).toEqual(['i', 'want', 'to', 'cancel', 'my', 'subscription']);
    for (let i = 1; i < words.length; i++) expect(words[i]?.start).toBeGreaterThanOrEqual(words[i - 1]?.end ?? 0);
    expect(words[0]?.start).toBeGreaterThan(0.1);
    expect(words.at(-1)?.end).toBeLessThan(speech.length / 16000 + 0.05);
  });

  it('finalize() gives a final without closing; later utterances are timed from the session start', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const session = await stt.open({ sampleRate: 16000 });
    const log = collect(session);
    write(session, speech);
    session.finalize();
    await waitUntil(() => log.events.some((e) => e.type === 'transcript' && e.isFinal));
    expect(log.events.some((e) => e.type === 'closed')).toBe(false);
    write(session, speech, 200);
    await session.close();
    await log.ended;
    expect(finals(log.events)).toEqual(['i want to cancel my subscription', 'i want to cancel my subscription']);
    const finalEvents = log.events.filter((e) => e.type === 'transcript' && e.isFinal && e.text !== '');
    const second = finalEvents[1];
    const firstWord = second?.type === 'transcript' ? second.words?.[0] : undefined;
    const dur = speech.length / 16000;
    expect(firstWord?.start).toBeGreaterThan(dur);
    expect(firstWord?.start).toBeLessThan(dur + 0.5);
  });

  it('finalize() on silence still yields an (empty) final', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const session = await stt.open({ sampleRate: 16000 });
    const log = collect(session);
    write(session, new Int16Array(8000));
    session.finalize();
    await waitUntil(() => log.events.some((e) => e.type === 'transcript' && e.isFinal));
    await session.close();
    await log.ended;
    expect(log.events.filter((e) => e.type === 'transcript')).toEqual([{ type: 'transcript', text: '', isFinal: true, speechFinal: true, words: [] }]);
  });

  it('resamples 48 kHz input and takes raw little-endian bytes through writeEncoded', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const up = new Int16Array(speech.length * 3);
    // Sample-and-hold upsampling is crude, but the 48 kHz -> 16 kHz resampler filters its images out.
    for (let i = 0; i < up.length; i++) up[i] = speech[Math.floor(i / 3)] as number;
    const s48 = await stt.open({ sampleRate: 48000 });
    const log48 = collect(s48);
    write(s48, up, 200, 48000);
    await s48.close();
    await log48.ended;
    expect(finals(log48.events)).toEqual(['i want to cancel my subscription']);

    const raw = await stt.open({ sampleRate: 16000, encoding: 'pcm_s16le' });
    const logRaw = collect(raw);
    const bytes = new Uint8Array(speech.buffer, speech.byteOffset, speech.byteLength);
    for (let i = 0; i < bytes.length; i += 640) raw.writeEncoded(bytes.subarray(i, i + 640));
    await raw.close();
    await logRaw.ended;
    expect(finals(logRaw.events)).toEqual(['i want to cancel my subscription']);
  });

  it('aborting the open() signal ends the session promptly with closed, no final and no error', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const ac = new AbortController();
    const session = await stt.open({ sampleRate: 16000 }, ac.signal);
    const log = collect(session);
    write(session, speech);
    const t0 = Date.now();
    ac.abort();
    await log.ended;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(log.events.at(-1)?.type).toBe('closed');
    expect(log.events.some((e) => e.type === 'error' || (e.type === 'transcript' && e.isFinal))).toBe(false);
    await session.close();
  });

  it('refuses sessions beyond maxDecoders as retryable capacity, and reuses released decoders', async () => {
    const small = new PocketsphinxPool({ maxDecoders: 1 });
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool: small });
    const a = await stt.open({ sampleRate: 16000 });
    await expect(stt.open({ sampleRate: 16000 })).rejects.toMatchObject({ code: 'CR_STT_CAPACITY', retryable: true });
    const logA = collect(a);
    await a.close();
    await logA.ended;
    const b = await stt.open({ sampleRate: 16000 });
    expect(small.size).toBe(1);
    const logB = collect(b);
    write(b, speech, 200);
    await b.close();
    await logB.ended;
    expect(finals(logB.events)).toEqual(['i want to cancel my subscription']);
    // The reused (reset) decoder times words from this session's start, not from its first session's.
    const final = logB.events.find((e) => e.type === 'transcript' && e.isFinal);
    const first = final?.type === 'transcript' ? final.words?.[0] : undefined;
    expect(first?.start).toBeGreaterThan(0.1);
    expect(first?.start).toBeLessThan(0.5);
    await small.close();
    expect(small.size).toBe(0);
  });

  it('decoders created and reset while others decode and end utterances never hang (shared native log state)', async () => {
    // With `-logfn /dev/null` per decoder, every ps_init/ps_reinit opened a log FILE and fclosed the
    // previous one, sphinxbase's single global stream, while other koffi threads used it: a double
    // fclose that deadlocked glibc's FILE list. Logging is now switched off once; no decoder opens a log.
    const devNullFds = (): number =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === '/dev/null';
        } catch {
          return false;
        }
      }).length;
    const before = devNullFds();
    const busy = new PocketsphinxPool({ maxDecoders: 3 });
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool: busy });
    const clip = speech.subarray(0, 16000);
    const round = async (): Promise<void> => {
      const ac = new AbortController();
      const session = await stt.open({ sampleRate: 16000 }, ac.signal);
      const log = collect(session);
      write(session, clip, 100);
      session.finalize();
      await new Promise((r) => setTimeout(r, 50));
      ac.abort();
      await log.ended;
    };
    for (let i = 0; i < 6; i++) await Promise.all([round(), round(), round()]);
    await busy.settled();
    expect(busy.inUse).toBe(0);
    expect(devNullFds()).toBe(before);
    await busy.close();
    expect(busy.size).toBe(0);
  }, 30_000);

  it('close() is idempotent and calls after it are ignored', async () => {
    const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
    const session = await stt.open({ sampleRate: 16000 });
    const log = collect(session);
    await Promise.all([session.close(), session.close()]);
    await log.ended;
    const n = log.events.length;
    session.write({ samples: new Int16Array(320), sampleRate: 16000, timestamp: 0 });
    session.writeEncoded(new Uint8Array(640));
    session.keepAlive();
    session.finalize();
    await new Promise((r) => setTimeout(r, 30));
    expect(log.events).toHaveLength(n);
    expect(log.events).toEqual([{ type: 'closed' }]);
  });
});

/** Poll until `cond` holds (the session's events arrive asynchronously). */
async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
