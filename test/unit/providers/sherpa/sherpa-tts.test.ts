/**
 * SherpaTts against a stand-in native module: the shared TTS conformance suite, then sentence
 * splitting, streaming through the progress callback, resampling and cancellation.
 * The same adapter runs on a real model in test/integration/providers/sherpa-tts.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SherpaTts, takeSentences } from '../../../../src/providers/sherpa/sherpa-tts.ts';
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
  text: TEXT,
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

describe('takeSentences', () => {
  it('splits at terminal punctuation followed by space, keeping the rest', () => {
    expect(takeSentences('One. Two? "Three!" Fou')).toEqual([['One.', 'Two?', '"Three!"'], 'Fou']);
    expect(takeSentences('Version 2.5 is out')).toEqual([[], 'Version 2.5 is out']);
    expect(takeSentences('')).toEqual([[], '']);
  });
});
