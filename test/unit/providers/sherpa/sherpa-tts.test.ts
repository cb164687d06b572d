/**
 * SherpaTts against a stand-in native module: the shared TTS conformance suite, then sentence
 * splitting, streaming through the progress callback, resampling and cancellation.
 * The same adapter runs on a real model in test/integration/providers/sherpa-tts.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SherpaTts } from '../../../../src/providers/sherpa/sherpa-tts.ts';
import type { TtsChunk } from '../../../../src/providers/types.ts';
import { joinTtsAudio, runTtsConformance, streamText } from '../../../support/tts-conformance.ts';
import { fakeSherpa, type FakeSherpaOptions } from './fake-sherpa-module.ts';

const piper = mkdtempSync(join(tmpdir(), 'sherpa-tts-'));
writeFileSync(join(piper, 'en_US-amy-low.onnx'), Buffer.from([0x08, 0x07]));
writeFileSync(join(piper, 'tokens.txt'), 'x');
mkdirSync(join(piper, 'espeak-ng-data'));
writeFileSync(join(piper, 'espeak-ng-data', 'phontab'), 'x');
const kokoroNoVoices = mkdtempSync(join(tmpdir(), 'sherpa-tts-bad-'));
writeFileSync(join(kokoroNoVoices, 'model.onnx'), Buffer.from([0x08, 0x07]));
writeFileSync(join(kokoroNoVoices, 'tokens.txt'), 'x');
afterAll(() => {
  rmSync(piper, { recursive: true, force: true });
  rmSync(kokoroNoVoices, { recursive: true, force: true });
});

const TEXT = ['Hello there. ', 'How can I ', 'help you today?'];
// For the suite the first element holds a whole clause with the space that confirms its comma: a
// full stop is only decided by the next word ("approx. five" goes on), which the suite holds back
// until audio arrives.
const CONFORMANCE_TEXT = ['Hello there, my friend, ', 'how can I ', 'help you today?'];

function tts(fake: FakeSherpaOptions = {}) {
  const f = fakeSherpa(fake);
  return { provider: new SherpaTts({ modelDir: piper, loadModule: () => f.module }), fake: f };
}

async function drain(it: AsyncIterable<TtsChunk>): Promise<TtsChunk[]> {
  const out: TtsChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

runTtsConformance({
  name: 'sherpa-onnx tts (stand-in module)',
  createProvider: () => tts().provider,
  formats: [
    { sampleRate: 22050, encoding: 'pcm_s16le' },
    { sampleRate: 16000, encoding: 'pcm_s16le' },
    { sampleRate: 8000, encoding: 'pcm_s16le' },
  ],
  text: CONFORMANCE_TEXT,
  minAudioMs: 500,
  streamsInput: true,
  faults: [
    {
      name: 'kokoro directory without voices.bin',
      createProvider: () => new SherpaTts({ modelDir: kokoroNoVoices, modelType: 'kokoro', loadModule: () => fakeSherpa().module }),
      retryable: false,
      code: 'CR_PROVIDER_CONFIG',
    },
    { name: 'model fails to load', createProvider: () => tts({ failLoad: true }).provider, retryable: false, code: 'CR_PROVIDER_CONFIG' },
  ],
});

describe('SherpaTts specifics', () => {
  it('speaks sentence by sentence with the piper config', async () => {
    const { provider, fake } = tts();
    const chunks = await drain(provider.synthesize({ text: streamText(TEXT), sampleRate: 22050, encoding: 'pcm_s16le' }));
    expect(fake.tts[0]!.texts).toEqual(['Hello there.', 'How can I help you today?']);
    expect(fake.ttsConfigs[0]).toEqual({
      model: {
        vits: { model: join(piper, 'en_US-amy-low.onnx'), tokens: join(piper, 'tokens.txt'), dataDir: join(piper, 'espeak-ng-data') },
        numThreads: 1,
        provider: 'cpu',
        debug: 0,
      },
      maxNumSentences: 1,
    });
    // Streamed through the progress callback: several chunks per sentence, not one blob.
    expect(chunks.filter((c) => c.type === 'audio').length).toBeGreaterThanOrEqual(8);
    const audio = joinTtsAudio(chunks, { sampleRate: 22050, encoding: 'pcm_s16le' });
    expect(audio.durationMs).toBeCloseTo(('Hello there.'.length + 'How can I help you today?'.length) * 20, -1);
  });

  it('resamples to the requested rate', async () => {
    const chunks = await drain(tts().provider.synthesize({ text: streamText(['Hi there.']), sampleRate: 8000, encoding: 'pcm_s16le' }));
    const audio = joinTtsAudio(chunks, { sampleRate: 8000, encoding: 'pcm_s16le' });
    expect(audio.pcm!.length).toBeGreaterThan(8000 * 0.18 - 10);
    expect(audio.pcm!.length).toBeLessThan(8000 * 0.18 + 10);
  });

  it('stops the engine through the progress callback when aborted mid-sentence', async () => {
    const { provider, fake } = tts();
    const ac = new AbortController();
    let audio = 0;
    for await (const c of provider.synthesize({ text: streamText(['A long first sentence here. ', 'And a second one.']), sampleRate: 22050, encoding: 'pcm_s16le' }, ac.signal)) {
      if (c.type === 'audio') {
        audio++;
        ac.abort();
      }
    }
    expect(audio).toBe(1);
    expect(fake.tts[0]!.texts).toEqual(['A long first sentence here.']);
  });

  it('rejects encodings and rates it does not produce', async () => {
    await expect(drain(tts().provider.synthesize({ text: streamText(['x']), sampleRate: 8000, encoding: 'mulaw' }))).rejects.toMatchObject({
      code: 'CR_PROVIDER_UNSUPPORTED',
    });
  });
});

describe('SherpaTts text cutting (the shared text chunker)', () => {
  /** The texts the engine was asked to speak for this token stream. */
  async function spoken(tokens: string[], chunker?: { minFirstChunkChars?: number }): Promise<string[]> {
    const f = fakeSherpa();
    const provider = new SherpaTts({ modelDir: piper, loadModule: () => f.module, ...(chunker !== undefined ? { chunker } : {}) });
    await drain(provider.synthesize({ text: streamText(tokens, 1), sampleRate: 22050, encoding: 'pcm_s16le' }));
    return f.tts[0]?.texts ?? [];
  }

  it('speaks the first clause early, then sentences, never cutting after abbreviations or inside numbers', async () => {
    expect(await spoken(['Sure, I can help you with that, ', 'let me look. Dr. Smith ', 'sees you at 3.', '30 today. Bye.'])).toEqual([
      'Sure, I can help you with that,',
      'let me look.',
      'Dr. Smith sees you at 3.30 today.',
      'Bye.',
    ]);
  });

  it('splits at terminal punctuation followed by space (the sentence rules takeSentences had)', async () => {
    expect(await spoken(['One. Two? "Three!" Fou'], { minFirstChunkChars: 1 })).toEqual(['One.', 'Two?', '"Three!"', 'Fou']);
    expect(await spoken(['Version 2.5 is out'])).toEqual(['Version 2.5 is out']);
    expect(await spoken([''])).toEqual([]);
  });
});

describe('SherpaTts resampling (media resampler, not sherpa LinearResampler)', () => {
  /** RMS of the middle 80 % (the tone's on/off edges are clicks with energy everywhere). */
  function middleRms(pcm: Int16Array): number {
    const from = Math.floor(pcm.length * 0.1);
    const to = Math.floor(pcm.length * 0.9);
    let sum = 0;
    for (let i = from; i < to; i++) sum += (pcm[i] as number) ** 2;
    return Math.sqrt(sum / (to - from));
  }
  const toneRms = (0.25 * 32767) / Math.SQRT2;

  async function toneAt16k(toneHz: number): Promise<Int16Array> {
    const f = fakeSherpa({ ttsRate: 24000, ttsToneHz: toneHz });
    const provider = new SherpaTts({ modelDir: piper, loadModule: () => f.module });
    const chunks = await drain(provider.synthesize({ text: streamText(['This one sentence is spoken as a steady tone']), sampleRate: 16000, encoding: 'pcm_s16le' }));
    return joinTtsAudio(chunks, { sampleRate: 16000, encoding: 'pcm_s16le' }).pcm as Int16Array;
  }

  it('removes a 9 kHz tone going 24k -> 16k instead of folding it to 7 kHz', async () => {
    const pcm = await toneAt16k(9000);
    // 44 characters at 20 ms each, at 16 kHz.
    expect(pcm.length).toBeGreaterThan(0.88 * 16000 - 10);
    expect(pcm.length).toBeLessThan(0.88 * 16000 + 10);
    const db = 20 * Math.log10(middleRms(pcm) / toneRms);
    expect(db).toBeLessThan(-60);
  });

  it('keeps a 1 kHz tone at its level', async () => {
    const db = 20 * Math.log10(middleRms(await toneAt16k(1000)) / toneRms);
    expect(Math.abs(db)).toBeLessThan(0.1);
  });

  it('releases the resampler when the synthesis is aborted', async () => {
    const f = fakeSherpa({ ttsRate: 24000 });
    const provider = new SherpaTts({ modelDir: piper, loadModule: () => f.module });
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const c of provider.synthesize({ text: streamText(['A long first sentence here. ', 'And more.']), sampleRate: 16000, encoding: 'pcm_s16le' }, ac.signal)) {
      if (c.type === 'audio') {
        seen.push(c.pcm?.length ?? 0);
        ac.abort();
      }
    }
    expect(seen).toHaveLength(1);
  });
});
