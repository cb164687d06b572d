import { EnergyVad } from './energy-vad.ts';
import { SileroVad } from './silero-vad.ts';
import type { SileroVersion } from './silero-model.ts';
import type { Vad, VadOptions } from './vad.ts';

/** Engine choice and segmenting settings, as the configuration's `vad` section gives them. */
export interface VadSettings extends Omit<VadOptions, 'negThreshold'> {
  readonly engine: 'silero' | 'energy';
  readonly sileroVersion: SileroVersion;
  readonly batching: boolean;
}

/**
 * The process's one VAD engine (all calls share it: one Silero session, batched across calls), with the
 * configured threshold, minimum speech, minimum silence and padding as stream defaults.
 */
export async function createVad(settings: VadSettings): Promise<Vad> {
  const defaults = {
    threshold: settings.threshold,
    minSpeechMs: settings.minSpeechMs,
    minSilenceMs: settings.minSilenceMs,
    speechPadMs: settings.speechPadMs,
  };
  if (settings.engine === 'energy') return new EnergyVad({ defaults });
  return SileroVad.load({ version: settings.sileroVersion, batching: settings.batching ? 'batched' : 'unbatched', defaults });
}
