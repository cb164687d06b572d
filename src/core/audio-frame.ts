/**
 * One block of linear PCM audio (signed 16-bit, mono) as it moves between media, VAD, STT, TTS and transports.
 * `timestamp` is media time in milliseconds from the start of the stream that produced the frame.
 */
export interface AudioFrame {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly timestamp: number;
}

/** Sample rates the gateway moves audio at. */
export const SUPPORTED_RATES = [8000, 16000, 22050, 24000, 48000] as const;
export type SampleRate = (typeof SUPPORTED_RATES)[number];

export function createFrame(samples: Int16Array, sampleRate: number, timestamp = 0): AudioFrame {
  return { samples, sampleRate, timestamp };
}

/** Number of samples in `ms` milliseconds at `sampleRate` (20 ms at 8 kHz is 160). */
export function samplesPerMs(sampleRate: number, ms: number): number {
  return Math.round((sampleRate * ms) / 1000);
}

/** Duration of a frame in milliseconds. */
export function frameDurationMs(frame: AudioFrame): number {
  return (frame.samples.length * 1000) / frame.sampleRate;
}
