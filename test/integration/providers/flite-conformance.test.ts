/**
 * The shared TTS conformance suite against the flite adapter; the oracle recognises the 16 kHz audio
 * with pocketsphinx, so the words spoken are checked, not just the audio's shape.
 */
import { afterAll, expect } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { FliteEngine } from '../../../src/providers/flite/flite-engine.ts';
import { FliteTts } from '../../../src/providers/flite/flite-tts.ts';
import { PocketsphinxPool } from '../../../src/providers/pocketsphinx/decoder-pool.ts';
import { PocketsphinxStt } from '../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { wordErrorRate } from '../../../src/providers/word-error-rate.ts';
import { runTtsConformance, type TtsAudio } from '../../support/tts-conformance.ts';

const engine = new FliteEngine({ workers: 2 });
const pool = new PocketsphinxPool({ maxDecoders: 1 });
afterAll(async () => {
  await engine.close();
  await pool.close();
});

const SAID = 'i would like to check the status of my order number four five six seven';

async function recognise(audio: TtsAudio): Promise<string> {
  const session = await new PocketsphinxStt({ logger: silentLogger(), pool }).open({ sampleRate: 16000 });
  const finals: string[] = [];
  const done = (async () => {
    for await (const e of session.events()) if (e.type === 'transcript' && e.isFinal && e.text !== '') finals.push(e.text);
  })();
  const pcm = audio.pcm ?? new Int16Array(0);
  for (let i = 0; i < pcm.length; i += 320) session.write({ samples: pcm.subarray(i, i + 320), sampleRate: 16000, timestamp: i / 16 });
  session.write({ samples: new Int16Array(8000), sampleRate: 16000, timestamp: (pcm.length / 16000) * 1000 });
  await session.close();
  await done;
  return finals.join(' ');
}

runTtsConformance({
  name: 'flite',
  createProvider: () => new FliteTts({ engine }),
  formats: [
    { sampleRate: 16000, encoding: 'pcm_s16le' },
    { sampleRate: 8000, encoding: 'mulaw' },
    { sampleRate: 24000, encoding: 'pcm_s16le' },
  ],
  // The first element holds a whole clause (with the space that confirms its comma), so the adapter
  // can speak it while the rest is held back; the rest arrives as a model streams tokens.
  text: ['I would like to check the status of my order, ', 'number four', ' five six', ' seven.'],
  minAudioMs: 2500,
  streamsInput: true,
  // Worker threads are invisible to the active-resource check: once a synthesis ended (done, aborted
  // or abandoned), no flite worker may still have a job.
  activeResources: () => {
    const a = engine.activity;
    return { fliteBusyWorkers: a.busyWorkers, flitePendingJobs: a.pendingJobs };
  },
  oracle: async (audio) => {
    if (audio.format.sampleRate !== 16000 || audio.pcm === undefined) return;
    const text = await recognise(audio);
    // Spoken as two chunks (clause, then the rest), so allow one word of the 14 to differ.
    expect(wordErrorRate(SAID, text), text).toBeLessThanOrEqual(1 / 14);
  },
  faults: [
    { name: 'unknown voice', createProvider: () => new FliteTts({ engine, voice: 'nobody' }), retryable: false, code: 'CR_TTS_VOICE' },
    { name: 'flite.wasm missing', createProvider: () => new FliteTts({ wasmPath: '/nonexistent/flite.wasm' }), retryable: false, code: 'CR_TTS_ENGINE' },
  ],
});
