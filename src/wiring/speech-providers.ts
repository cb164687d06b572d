/**
 * The process's speech providers, built once from `providers.*` and shared by every call: each vendor is
 * made only when configured (and the offline ones when their files are present), wrapped with deadlines
 * so a stalled provider fails over instead of leaving the caller in silence. Agents pick from this set by
 * name (`agent.stt.providers`, `agent.tts.providers`).
 */
import type { Config } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { DeepgramStt } from '../providers/deepgram/deepgram-stt.ts';
import { ElevenLabsHttpTts } from '../providers/elevenlabs/elevenlabs-http-tts.ts';
import { FliteEngine } from '../providers/flite/flite-engine.ts';
import { FliteTts } from '../providers/flite/flite-tts.ts';
import { PocketsphinxStt } from '../providers/pocketsphinx/pocketsphinx-stt.ts';
import { SherpaStt } from '../providers/sherpa/sherpa-stt.ts';
import { SherpaTts } from '../providers/sherpa/sherpa-tts.ts';
import type { SttProvider, TtsProvider } from '../providers/types.ts';
import { TimeoutTts } from '../providers/wrappers/with-timeout.ts';

export type SttName = 'deepgram' | 'sherpa' | 'pocketsphinx';
export type TtsName = 'elevenlabs' | 'sherpa' | 'flite';

export interface SpeechProviders {
  readonly stt: ReadonlyMap<SttName, SttProvider>;
  readonly tts: ReadonlyMap<TtsName, TtsProvider>;
  close(): Promise<void>;
}

/** A cloud voice that has not sent its first audio by then hands the chunk to the next voice. */
const TTS_FIRST_AUDIO_MS = 4000;

export function createSpeechProviders(config: Config, logger: Logger): SpeechProviders {
  const p = config.providers;
  const stt = new Map<SttName, SttProvider>();
  const tts = new Map<TtsName, TtsProvider>();
  const closers: Array<() => Promise<void>> = [];
  if (p.deepgram !== undefined) {
    // The call layer reconnects a lost session once, then hands the call to the next recogniser: the
    // adapter's own reconnect loop is off so a dead cloud does not keep the caller waiting.
    stt.set(
      'deepgram',
      new DeepgramStt({ apiKey: p.deepgram.apiKey, model: p.deepgram.model, logger, reconnect: { attempts: 0 }, ...(p.deepgram.baseUrl === undefined ? {} : { baseUrl: p.deepgram.baseUrl }) }),
    );
  }
  if (p.sherpa?.sttModelDir !== undefined) stt.set('sherpa', new SherpaStt({ modelDir: p.sherpa.sttModelDir, logger }));
  try {
    const ps = new PocketsphinxStt({ logger, maxDecoders: p.pocketsphinx.maxDecoders });
    stt.set('pocketsphinx', ps);
    closers.push(() => ps.close());
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, 'pocketsphinx unavailable (install Debian libpocketsphinx3 and pocketsphinx-en-us)');
  }
  if (p.elevenlabs !== undefined) {
    const el = new ElevenLabsHttpTts({
      apiKey: p.elevenlabs.apiKey,
      voiceId: p.elevenlabs.voiceId,
      modelId: p.elevenlabs.modelId,
      logger,
      ...(p.elevenlabs.baseUrl === undefined ? {} : { baseUrl: p.elevenlabs.baseUrl }),
    });
    tts.set('elevenlabs', new TimeoutTts(el, { firstResultMs: TTS_FIRST_AUDIO_MS }));
  }
  if (p.sherpa?.ttsModelDir !== undefined) tts.set('sherpa', new SherpaTts({ modelDir: p.sherpa.ttsModelDir, logger }));
  const engine = new FliteEngine({ warmVoice: p.flite.voice });
  closers.push(() => engine.close());
  tts.set('flite', new FliteTts({ engine, voice: p.flite.voice }));
  return {
    stt,
    tts,
    async close() {
      for (const c of closers) await c().catch(() => undefined);
    },
  };
}
