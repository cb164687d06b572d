/**
 * What the OpenAI Realtime GA protocol can take, and the `session.update` body for a session's
 * options. GA shape: `session.type: "realtime"`, formats, turn detection and transcription under
 * `audio.input`, format and voice under `audio.output` (the flat beta fields are rejected).
 */
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import { ProviderError } from '../provider-error.ts';
import type { RealtimeAudioFormat, RealtimeCapabilities, RealtimeSessionOptions } from '../types.ts';

export const OPENAI_REALTIME = 'openai-realtime';

/** GA formats: `audio/pcm` is 24 kHz only; `audio/pcmu` and `audio/pcma` are 8 kHz G.711. */
const FORMATS: readonly RealtimeAudioFormat[] = [
  { encoding: 'pcm_s16le', sampleRate: 24000 },
  { encoding: 'mulaw', sampleRate: 8000 },
  { encoding: 'alaw', sampleRate: 8000 },
];

export const OPENAI_REALTIME_CAPABILITIES: RealtimeCapabilities = {
  inputFormats: FORMATS,
  outputFormats: FORMATS,
  turnDetection: ['server_vad', 'semantic_vad', 'manual'],
  truncate: true,
  serverCancel: true,
  resumable: false,
};

export type GaAudioFormat = { type: 'audio/pcm'; rate: 24000 } | { type: 'audio/pcmu' } | { type: 'audio/pcma' };

/** The wire format for one of ours, or undefined if GA has no such format. */
export function toGaFormat(format: RealtimeAudioFormat): GaAudioFormat | undefined {
  if (format.encoding === 'pcm_s16le' && format.sampleRate === 24000) return { type: 'audio/pcm', rate: 24000 };
  if (format.encoding === 'mulaw' && format.sampleRate === 8000) return { type: 'audio/pcmu' };
  if (format.encoding === 'alaw' && format.sampleRate === 8000) return { type: 'audio/pcma' };
  return undefined;
}

/** Bytes per millisecond of audio in `format` (mono). */
export function bytesPerMs(format: RealtimeAudioFormat): number {
  return (format.sampleRate * (format.encoding === 'pcm_s16le' ? 2 : 1)) / 1000;
}

export interface GaSessionDefaults {
  readonly voice: string;
  /** Model for caller transcripts (`audio.input.transcription.model`). */
  readonly transcriptionModel: string;
}

/** The session object of GA `session.update`; throws CR_REALTIME_FORMAT for options GA cannot honour. */
export function buildGaSession(options: RealtimeSessionOptions, defaults: GaSessionDefaults): RealtimeSessionCreateRequest {
  const input = toGaFormat(options.inputFormat);
  const output = toGaFormat(options.outputFormat);
  if (input === undefined || output === undefined) {
    const bad = input === undefined ? options.inputFormat : options.outputFormat;
    throw new ProviderError(
      OPENAI_REALTIME,
      'CR_REALTIME_FORMAT',
      `no native format ${bad.encoding}@${bad.sampleRate} (GA takes pcm_s16le@24000, mulaw@8000, alaw@8000; resample in the call layer)`,
      { retryable: false },
    );
  }
  const turnDetection =
    options.turnDetection === 'manual'
      ? null
      : // The server cancels its own answer when the caller starts speaking, and answers at turn end.
        { type: options.turnDetection, create_response: true, interrupt_response: true };
  return {
    type: 'realtime',
    instructions: options.instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format: input,
        turn_detection: turnDetection,
        ...(options.transcription ? { transcription: { model: defaults.transcriptionModel } } : {}),
      },
      output: { format: output, voice: options.voice ?? defaults.voice },
    },
    tools: options.tools.map((t) => ({ type: 'function' as const, name: t.name, description: t.description, parameters: t.parameters })),
    tool_choice: 'auto',
  };
}
