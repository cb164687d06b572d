import { afterEach, beforeAll } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { FliteTts } from '../../src/providers/flite/flite-tts.ts';
import { PocketsphinxStt } from '../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { SileroVad } from '../../src/vad/silero-vad.ts';
import type { CallHarness } from './call-harness.ts';

/** The offline engines a call test runs on, loaded once per file. */
export interface OfflineSpeech {
  readonly vad: SileroVad;
  /** pocketsphinx with a queue that holds a whole recording (it is also the oracle of `recognise`). */
  readonly stt: PocketsphinxStt;
  readonly tts: FliteTts;
}

/**
 * Register the file's hooks: Silero, pocketsphinx and flite loaded before the tests and closed after, and a
 * call harness slot that is closed after each test. Read the engines and set the harness through the result.
 */
export function useOfflineSpeech(): { readonly speech: OfflineSpeech; harness: CallHarness | undefined } {
  const state: { speech: OfflineSpeech; harness: CallHarness | undefined } = { speech: undefined as unknown as OfflineSpeech, harness: undefined };
  beforeAll(async () => {
    const speech: OfflineSpeech = {
      vad: await SileroVad.load({ version: 'v5' }),
      stt: new PocketsphinxStt({ logger: silentLogger(), maxQueueMs: 600_000 }),
      tts: new FliteTts({ voice: 'kal16' }),
    };
    state.speech = speech;
    return async () => {
      await speech.vad.close();
      await speech.stt.close();
      await speech.tts.close();
    };
  });
  afterEach(async () => {
    await state.harness?.close();
    state.harness = undefined;
  });
  return state;
}
