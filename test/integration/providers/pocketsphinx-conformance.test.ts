/**
 * The shared STT conformance suite against the pocketsphinx adapter on real audio (a flite fixture at
 * 16 kHz, the wideband rate the adapter serves).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { readWav } from '../../../src/media/wav.ts';
import { PocketsphinxPool } from '../../../src/providers/pocketsphinx/decoder-pool.ts';
import { PocketsphinxStt } from '../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import type { SttSession } from '../../../src/providers/types.ts';
import { runSttConformance } from '../../support/stt-conformance.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'speech');
const speech = readWav(readFileSync(join(FIXTURES, 'order-status-kal16.wav'))).samples;

const pool = new PocketsphinxPool({ maxDecoders: 2 });
// A pool whose only decoder is taken, for the capacity fault.
const fullPool = new PocketsphinxPool({ maxDecoders: 1 });
let holder: SttSession | undefined;
afterAll(async () => {
  await holder?.close();
  await Promise.all([pool.close(), fullPool.close()]);
});

runSttConformance({
  name: 'pocketsphinx',
  createProvider: () => new PocketsphinxStt({ logger: silentLogger(), pool }),
  sessionOptions: { sampleRate: 16000 },
  feedUtterance: async (session) => {
    // The utterance and 300 ms of silence in 20 ms frames, as fast as the caller writes them.
    const all = new Int16Array(speech.length + 4800);
    all.set(speech);
    for (let i = 0; i < all.length; i += 320) session.write({ samples: all.subarray(i, i + 320), sampleRate: 16000, timestamp: i / 16 });
  },
  expectText: 'i would like to check the status of my order number four five six seven',
  maxWordErrorRate: 0,
  resultTimeoutMs: 30_000,
  // Native decoders are invisible to the active-resource check: after close or abort each session's
  // decoder must be back in the pool (released and reset), not held.
  activeResources: () => ({ decodersInUse: pool.inUse }),
  faults: [
    {
      name: 'model directory missing',
      when: 'open',
      createProvider: () => new PocketsphinxStt({ logger: silentLogger(), modelDir: '/nonexistent/pocketsphinx-model' }),
      retryable: false,
      code: 'CR_STT_MODEL',
    },
    {
      name: 'library not installed',
      when: 'open',
      createProvider: () => new PocketsphinxStt({ logger: silentLogger(), libraryPath: 'libpocketsphinx-missing.so.3' }),
      retryable: false,
      code: 'CR_STT_ENGINE',
    },
    {
      name: 'every decoder busy',
      when: 'open',
      createProvider: async () => {
        const stt = new PocketsphinxStt({ logger: silentLogger(), pool: fullPool });
        holder ??= await stt.open({ sampleRate: 16000 });
        return stt;
      },
      retryable: true,
      code: 'CR_STT_CAPACITY',
    },
  ],
});
