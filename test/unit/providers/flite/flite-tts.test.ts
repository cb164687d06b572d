import { afterAll, describe, expect, it } from 'vitest';
import { mulawDecode } from '../../../../src/media/g711.ts';
import { FliteEngine } from '../../../../src/providers/flite/flite-engine.ts';
import { FliteTts } from '../../../../src/providers/flite/flite-tts.ts';
import { FLITE_VOICES, findFliteVoice } from '../../../../src/providers/flite/flite-voices.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import type { AudioEncoding, TtsChunk } from '../../../../src/providers/types.ts';

const engine = new FliteEngine({ workers: 2 });
afterAll(async () => {
  await engine.close();
});

async function* text(parts: readonly string[], gapMs = 2): AsyncIterable<string> {
  for (const p of parts) {
    await new Promise((r) => setTimeout(r, gapMs));
    yield p;
  }
}

async function collect(it: AsyncIterable<TtsChunk>): Promise<TtsChunk[]> {
  const out: TtsChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function samplesOf(chunks: readonly TtsChunk[]): number {
  return chunks.reduce((n, c) => n + (c.type === 'audio' ? (c.pcm?.length ?? c.bytes?.length ?? 0) : 0), 0);
}

function pcmOf(chunks: readonly TtsChunk[]): Int16Array {
  const out = new Int16Array(samplesOf(chunks));
  let at = 0;
  for (const c of chunks) {
    if (c.type !== 'audio') continue;
    const p = c.pcm ?? mulawDecode(c.bytes ?? new Uint8Array(0));
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function rms(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return Math.sqrt(s / Math.max(1, pcm.length));
}

const SENTENCE = ['Hello there,', ' how can I help', ' you today?'];

describe('flite voices', () => {
  it('lists the voices compiled into flite.wasm and finds them by short or full name', () => {
    expect(FLITE_VOICES.map((v) => v.id).sort()).toEqual(['awb', 'kal', 'kal16', 'rms', 'slt']);
    expect(findFliteVoice('cmu_us_slt')?.id).toBe('slt');
    expect(findFliteVoice(' KAL ')?.sampleRate).toBe(8000);
    expect(findFliteVoice('nope')).toBeUndefined();
  });
});

describe('FliteTts', () => {
  const tts = new FliteTts({ engine });

  it('speaks streamed text as 20 ms pcm frames at 16 kHz, done last', async () => {
    const chunks = await collect(tts.synthesize({ text: text(SENTENCE), sampleRate: 16000, encoding: 'pcm_s16le' }));
    expect(chunks.at(-1)).toEqual({ type: 'done' });
    expect(chunks.filter((c) => c.type === 'done')).toHaveLength(1);
    const audio = chunks.filter((c) => c.type === 'audio');
    expect(audio.length).toBeGreaterThan(50);
    // Full 20 ms frames except, possibly, the last one of each text chunk.
    const sizes = audio.map((c) => (c.type === 'audio' ? c.pcm?.length : 0));
    expect(sizes.filter((n) => n === 320).length).toBeGreaterThan(audio.length - 4);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(320);
    const pcm = pcmOf(chunks);
    expect(pcm.length / 16000).toBeGreaterThan(1);
    expect(rms(pcm)).toBeGreaterThan(500);
  });

  it.each<[number, AudioEncoding]>([
    [8000, 'mulaw'],
    [8000, 'alaw'],
    [24000, 'pcm_s16le'],
    [48000, 'pcm_s16le'],
  ])('produces %i Hz %s of the same duration', async (rate, encoding) => {
    const ref = samplesOf(await collect(tts.synthesize({ text: text(SENTENCE), sampleRate: 16000, encoding: 'pcm_s16le' })));
    const chunks = await collect(tts.synthesize({ text: text(SENTENCE), sampleRate: rate, encoding }));
    for (const c of chunks) {
      if (c.type !== 'audio') continue;
      expect(c.sampleRate).toBe(rate);
      expect(c.encoding).toBe(encoding);
      if (encoding === 'pcm_s16le') expect(c.pcm).toBeInstanceOf(Int16Array);
      else expect(c.bytes).toBeInstanceOf(Uint8Array);
    }
    expect(samplesOf(chunks) / rate).toBeCloseTo(ref / 16000, 1);
    if (encoding === 'mulaw') expect(rms(pcmOf(chunks))).toBeGreaterThan(500);
  });

  it('speaks with every voice, and the voices differ', async () => {
    const lengths = new Map<string, number>();
    for (const v of FLITE_VOICES) {
      const chunks = await collect(tts.synthesize({ text: text(['Good morning.']), sampleRate: 16000, encoding: 'pcm_s16le', voice: v.id }));
      const pcm = pcmOf(chunks);
      expect(rms(pcm), v.id).toBeGreaterThan(300);
      lengths.set(v.id, pcm.length);
    }
    expect(new Set(lengths.values()).size).toBeGreaterThan(2);
  });

  it('starts audio after the first clause, before the text stream ends', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let ended = false;
    async function* slow(): AsyncIterable<string> {
      yield 'Sure, I can help you with that,';
      yield ' let me';
      await held;
      yield ' check the order for you.';
      ended = true;
    }
    const it = tts.synthesize({ text: slow(), sampleRate: 16000, encoding: 'pcm_s16le' })[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.type).toBe('audio');
    expect(ended).toBe(false);
    release();
    const rest: TtsChunk[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value);
    expect(rest.at(-1)?.type).toBe('done');
  });

  it('stops mid-utterance when the signal aborts, yielding nothing after', async () => {
    const ac = new AbortController();
    let after = 0;
    let n = 0;
    const long = Array.from({ length: 10 }, (_, i) => `This is sentence number ${i + 1} of a rather long answer. `);
    for await (const c of tts.synthesize({ text: text(long), sampleRate: 16000, encoding: 'pcm_s16le' }, ac.signal)) {
      if (ac.signal.aborted) after++;
      n++;
      if (n === 3) ac.abort();
      expect(c.type).toBe('audio');
    }
    expect(n).toBe(3);
    expect(after).toBe(0);
    // An already-aborted signal yields nothing at all.
    expect(await collect(tts.synthesize({ text: text(SENTENCE), sampleRate: 16000, encoding: 'pcm_s16le' }, AbortSignal.abort()))).toEqual([]);
  });

  it('empty text yields only done', async () => {
    expect(await collect(tts.synthesize({ text: text(['', '  ', '\n']), sampleRate: 8000, encoding: 'mulaw' }))).toEqual([{ type: 'done' }]);
  });

  it('rejects an unknown voice and an unsupported format with non-retryable ProviderErrors', async () => {
    const voice = await collect(tts.synthesize({ text: text(['Hi.']), sampleRate: 16000, encoding: 'pcm_s16le', voice: 'hal9000' })).catch((e: unknown) => e);
    expect(voice).toBeInstanceOf(ProviderError);
    expect(voice).toMatchObject({ code: 'CR_TTS_VOICE', retryable: false });
    const rate = await collect(tts.synthesize({ text: text(['Hi.']), sampleRate: 11025, encoding: 'pcm_s16le' })).catch((e: unknown) => e);
    expect(rate).toMatchObject({ code: 'CR_TTS_FORMAT', retryable: false });
  });

  it('a failing text stream surfaces as a ProviderError', async () => {
    async function* broken(): AsyncIterable<string> {
      yield 'Hello';
      throw new Error('model stream dropped');
    }
    const err = await collect(tts.synthesize({ text: broken(), sampleRate: 16000, encoding: 'pcm_s16le' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_TTS_INPUT' });
  });

  it('a missing flite.wasm is a non-retryable CR_TTS_ENGINE error', async () => {
    const broken = new FliteTts({ wasmPath: '/nonexistent/flite.wasm' });
    const err = await collect(broken.synthesize({ text: text(['Hi.']), sampleRate: 16000, encoding: 'pcm_s16le' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CR_TTS_ENGINE', retryable: false });
    await broken.close();
  });

  it('runs syntheses concurrently on the pool', async () => {
    const runs = await Promise.all(
      ['One two three.', 'Four five six.', 'Seven eight nine.'].map((t) => collect(tts.synthesize({ text: text([t]), sampleRate: 16000, encoding: 'pcm_s16le' }))),
    );
    for (const r of runs) {
      expect(r.at(-1)?.type).toBe('done');
      expect(samplesOf(r)).toBeGreaterThan(8000);
    }
  });
});
