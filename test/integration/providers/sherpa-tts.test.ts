/**
 * SherpaTts on a real model and the real native module. Runs only when SHERPA_TTS_MODEL_DIR points
 * at a vits/piper or kokoro model directory (e.g. vits-piper-en_US-amy-low, kokoro-en-v0_19); no
 * model can be installed on the build machines. The validation errors and the streaming logic are
 * tested always, in test/unit/providers/sherpa/.
 */
import { describe, expect } from 'vitest';
import { SherpaTts } from '../../../src/providers/sherpa/sherpa-tts.ts';
import { runTtsConformance, type TtsAudio } from '../../support/tts-conformance.ts';

const modelDir = process.env.SHERPA_TTS_MODEL_DIR;

/** Speech, not silence: RMS well above the noise floor. */
function notSilent(audio: TtsAudio): void {
  const pcm = audio.pcm as Int16Array;
  let sum = 0;
  for (const s of pcm) sum += s * s;
  expect(Math.sqrt(sum / pcm.length)).toBeGreaterThan(300);
}

describe.runIf(modelDir !== undefined)('sherpa-onnx tts on a real model', () => {
  const provider = new SherpaTts({ modelDir: modelDir as string });
  runTtsConformance({
    name: 'sherpa-onnx tts real model',
    createProvider: async () => (await provider.init(), provider),
    formats: [
      { sampleRate: 16000, encoding: 'pcm_s16le' },
      { sampleRate: 8000, encoding: 'pcm_s16le' },
    ],
    // A clause first, with the space that confirms its comma: the suite holds the rest back until audio.
    text: ['Hello there, my friend, ', 'your order number four five six seven ', 'ships on Monday.'],
    minAudioMs: 1000,
    oracle: notSilent,
    streamsInput: true,
    resultTimeoutMs: 60_000,
    abortWithinMs: 3000,
  });
});
