/**
 * The audio formats of a speech-to-speech session, chosen once from the leg's wire formats and what the
 * model takes and speaks natively, so that as little as possible is converted: G.711 straight through
 * where the model speaks it (OpenAI `audio/pcmu`/`audio/pcma`), else PCM at the leg's own rate (Gemini
 * takes 8/16/24/48 kHz), else PCM at the model's nearest rate at or above the leg's (never downsampling
 * what the caller said when the model can take more), resampled in the call layer.
 */
import type { RealtimeAudioFormat, RealtimeCapabilities } from '../../providers/types.ts';
import type { LegAudioFormat } from '../call-leg.ts';

export interface RealtimeFormats {
  /** What `appendAudio` gets. */
  readonly input: RealtimeAudioFormat;
  /** What the model speaks. */
  readonly output: RealtimeAudioFormat;
}

/** Used when a leg has not agreed its media yet (a WebSocket leg always has; a SIP leg has once answered). */
const FALLBACK: LegAudioFormat = { sampleRate: 16000, encoding: 'pcm_s16le' };

export function chooseFormats(
  leg: { readonly inputFormat: LegAudioFormat | undefined; readonly outputFormat: LegAudioFormat | undefined },
  capabilities: RealtimeCapabilities,
): RealtimeFormats {
  return {
    input: pick(leg.inputFormat ?? FALLBACK, capabilities.inputFormats),
    output: pick(leg.outputFormat ?? FALLBACK, capabilities.outputFormats),
  };
}

/** The best of `offered` for audio that is `wire` on the leg. */
export function pick(wire: LegAudioFormat, offered: readonly RealtimeAudioFormat[]): RealtimeAudioFormat {
  const exact = offered.find((f) => f.encoding === wire.encoding && f.sampleRate === wire.sampleRate);
  if (exact !== undefined) return exact;
  const pcm = offered.filter((f) => f.encoding === 'pcm_s16le').sort((a, b) => a.sampleRate - b.sampleRate);
  const same = pcm.find((f) => f.sampleRate === wire.sampleRate);
  if (same !== undefined) return same;
  const above = pcm.find((f) => f.sampleRate > wire.sampleRate);
  if (above !== undefined) return above;
  const best = pcm[pcm.length - 1] ?? offered[0];
  if (best === undefined) throw new RangeError('the realtime provider offers no audio format');
  return best;
}

/** Bytes per millisecond of mono audio in `format`. */
export function bytesPerMs(format: RealtimeAudioFormat): number {
  return (format.sampleRate * (format.encoding === 'pcm_s16le' ? 2 : 1)) / 1000;
}

/** Whether a leg can take or give these bytes as they are (G.711 of the leg's own law at 8 kHz). */
export function isPassThrough(wire: LegAudioFormat | undefined, format: RealtimeAudioFormat): boolean {
  return wire !== undefined && wire.encoding !== 'pcm_s16le' && wire.encoding === format.encoding && format.sampleRate === 8000 && wire.sampleRate === 8000;
}
