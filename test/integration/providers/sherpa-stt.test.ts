/**
 * SherpaStt on a real model and the real native module. Runs only when SHERPA_MODEL_DIR points at
 * an online model directory (e.g. sherpa-onnx-streaming-zipformer-en-2023-06-26); no model can be
 * installed on the build machines. Audio: SHERPA_TEST_WAV, else <model>/test_wavs/0.wav (16-bit
 * PCM WAV). Expected text: SHERPA_TEST_TEXT (word error rate <= 0.35); without it, any final of
 * two or more words passes. The same utterance is also fed at 8 kHz, the narrowband case.
 * The validation errors and the streaming logic are tested always, in test/unit/providers/sherpa/.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import { readWav, toMono } from '../../../src/media/wav.ts';
import { SherpaStt } from '../../../src/providers/sherpa/sherpa-stt.ts';
import type { SttSession, SttSessionOptions } from '../../../src/providers/types.ts';
import { normalizeWords, runSttConformance } from '../../support/stt-conformance.ts';
import { sileroModelPath } from '../../../src/vad/silero-model.ts';

const modelDir = process.env.SHERPA_MODEL_DIR;
const wavPath = process.env.SHERPA_TEST_WAV ?? (modelDir !== undefined ? join(modelDir, 'test_wavs', '0.wav') : undefined);
const expected = process.env.SHERPA_TEST_TEXT;

/** Halve the rate with a 3-tap low-pass first (good enough for a recogniser test). */
function downsampleBy2(x: Int16Array): Int16Array {
  const out = new Int16Array(x.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const a = x[2 * i - 1] ?? x[0] ?? 0;
    const b = x[2 * i] ?? 0;
    const c = x[2 * i + 1] ?? b;
    out[i] = (a + 2 * b + c) >> 2;
  }
  return out;
}

describe.runIf(modelDir !== undefined && wavPath !== undefined && existsSync(wavPath))('sherpa-onnx on a real model', () => {
  // Collected (as skipped) even without a model: nothing here may touch the files until a test runs.
  let mono: { rate: number; pcm: Int16Array } | undefined;
  function audioAt(rate: number): Int16Array {
    if (mono === undefined) {
      const wav = readWav(readFileSync(wavPath as string));
      mono = { rate: wav.sampleRate, pcm: toMono(wav.samples, wav.channels) };
    }
    if (mono.rate === rate) return mono.pcm;
    if (mono.rate === 16000 && rate === 8000) return downsampleBy2(mono.pcm);
    throw new Error(`the test WAV must be 16 kHz (is ${mono.rate} Hz)`);
  }

  async function feed(session: SttSession, o: SttSessionOptions): Promise<void> {
    const pcm = audioAt(o.sampleRate);
    const per = o.sampleRate / 50;
    for (let i = 0; i + per <= pcm.length; i += per) {
      session.write({ samples: pcm.subarray(i, i + per), sampleRate: o.sampleRate, timestamp: (i * 1000) / o.sampleRate });
      if ((i / per) % 25 === 24) await new Promise((r) => setImmediate(r));
    }
  }

  let provider: SherpaStt | undefined;
  const shared = async (): Promise<SherpaStt> => {
    provider ??= new SherpaStt({ modelDir: modelDir as string });
    await provider.init();
    return provider;
  };

  for (const sampleRate of [16000, 8000]) {
    runSttConformance({
      name: `sherpa-onnx real model at ${sampleRate} Hz`,
      createProvider: shared,
      sessionOptions: { sampleRate },
      feedUtterance: feed,
      expectText:
        expected ??
        ((text: string) => {
          expect(normalizeWords(text).length, `transcript "${text}"`).toBeGreaterThanOrEqual(2);
        }),
      maxWordErrorRate: 0.35,
      resultTimeoutMs: 60_000,
    });
  }
});

describe('sherpa-onnx model probe (real native module, no model needed)', () => {
  it('rejects a valid ONNX file without transducer metadata, which makes sherpa-onnx exit(), and the process survives', async () => {
    // Any real ONNX file will do: the Silero VAD model the VAD uses (shipped in an npm package).
    const silero = sileroModelPath('v5');
    const dir = mkdtempSync(join(tmpdir(), 'sherpa-probe-'));
    try {
      for (const f of ['encoder-epoch-1-chunk-16.onnx', 'decoder-epoch-1-chunk-16.onnx', 'joiner-epoch-1-chunk-16.onnx']) copyFileSync(silero, join(dir, f));
      writeFileSync(join(dir, 'tokens.txt'), 'a 0\nb 1\n');
      const p = new SherpaStt({ modelDir: dir });
      const err = await p.open({ sampleRate: 8000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('CR_PROVIDER_CONFIG');
      expect((err as ProviderError).retryable).toBe(false);
      expect((err as ProviderError).message).toContain('vocab_size');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
