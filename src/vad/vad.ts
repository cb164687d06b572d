/**
 * Voice activity detection as the call layer consumes it: a `Vad` makes one `VadStream` per call leg;
 * the media path pushes 20 ms frames synchronously and gets speech-start / speech-end events (with
 * media timestamps) through a callback or an AsyncIterable. Engines: `SileroVad` (ONNX, shared model,
 * batched inference) and `EnergyVad` (fallback, no model).
 */
import type { AudioFrame } from '../core/audio-frame.ts';
import { CallroomError } from '../core/errors.ts';

/** How probabilities become speech segments. All durations in milliseconds. */
export interface VadOptions {
  /** A window with probability >= threshold is speech (0..1). */
  readonly threshold: number;
  /** Speech continues until probability drops below this (hysteresis); default threshold - 0.15. */
  readonly negThreshold?: number;
  /** Speech must last this long before speech_start is reported (filters clicks and coughs). */
  readonly minSpeechMs: number;
  /** Silence must last this long before speech_end is reported. */
  readonly minSilenceMs: number;
  /** Reported segment edges are widened by this much (onset earlier, end later). */
  readonly speechPadMs: number;
}

/**
 * Defaults: Silero's recommended threshold, minimum speech and padding; a minimum silence long enough
 * that a breath between words is not a segment end (turn-taking adds its own delay on top).
 */
export const DEFAULT_VAD_OPTIONS: Readonly<VadOptions> = Object.freeze({
  threshold: 0.5,
  minSpeechMs: 250,
  minSilenceMs: 300,
  speechPadMs: 30,
});

/**
 * Lifecycle edges of speech. `timestamp` is media time in ms (the frames' clock), already padded;
 * events are emitted later than their timestamp (by minSpeechMs / minSilenceMs plus inference time).
 */
export type VadEvent =
  | { readonly type: 'speech_start'; readonly timestamp: number }
  | { readonly type: 'speech_end'; readonly timestamp: number; readonly startTimestamp: number }
  /** The engine failed (e.g. inference error); the stream stops analysing. Callers may fall back. */
  | { readonly type: 'error'; readonly error: CallroomError };

export interface VadStreamOptions extends Partial<VadOptions> {
  readonly sampleRate: number;
  /** Called synchronously for each event, in order. */
  readonly onEvent?: (event: VadEvent) => void;
  /** Called for each analysed window: speech probability and the window's start time (ms). */
  readonly onProbability?: (probability: number, timestamp: number) => void;
}

/** One audio stream's detector. */
export interface VadStream {
  readonly sampleRate: number;
  /** Whether a speech segment is open (speech_start reported, speech_end not yet). */
  readonly speaking: boolean;
  /**
   * Feed one frame (any length; 20 ms is usual). Synchronous and never throws: returns false when the
   * frame is refused (stream closed, or a sample rate other than the stream's).
   */
  push(frame: AudioFrame): boolean;
  /** Events from now on, until the stream closes. */
  events(): AsyncIterable<VadEvent>;
  /** Resolves once every frame pushed so far has been analysed (tests, end of file). */
  drained(): Promise<void>;
  /** Analyse what is queued, close an open segment with speech_end, then close. */
  end(): Promise<void>;
  /** Stop at once; no more events. Idempotent. */
  close(): void;
}

/** A detector engine that makes streams. */
export interface Vad {
  readonly name: string;
  supportsSampleRate(sampleRate: number): boolean;
  /** Throws CallroomError CR_VAD_CONFIG for an unsupported rate or invalid options (setup time, not the media path). */
  createStream(options: VadStreamOptions): VadStream;
  /** Release the engine (model session); streams still open are closed. */
  close(): Promise<void>;
}

/** Options with defaults applied and negThreshold resolved. */
export interface ResolvedVadOptions {
  readonly threshold: number;
  readonly negThreshold: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly speechPadMs: number;
}

/** Apply defaults and validate; throws CR_VAD_CONFIG naming the bad option. */
export function resolveVadOptions(options: Partial<VadOptions>, defaults: Partial<VadOptions> = {}): ResolvedVadOptions {
  const pick = <K extends keyof VadOptions>(k: K): VadOptions[K] =>
    (options[k] ?? defaults[k] ?? DEFAULT_VAD_OPTIONS[k]) as VadOptions[K];
  const threshold = pick('threshold');
  const negThreshold = options.negThreshold ?? defaults.negThreshold ?? Math.max(0.01, threshold - 0.15);
  const resolved = {
    threshold,
    negThreshold,
    minSpeechMs: pick('minSpeechMs'),
    minSilenceMs: pick('minSilenceMs'),
    speechPadMs: pick('speechPadMs'),
  };
  const bad: string[] = [];
  if (!(threshold > 0 && threshold < 1)) bad.push('threshold must be in (0, 1)');
  if (!(negThreshold > 0 && negThreshold <= threshold)) bad.push('negThreshold must be in (0, threshold]');
  for (const k of ['minSpeechMs', 'minSilenceMs', 'speechPadMs'] as const) {
    if (!(Number.isFinite(resolved[k]) && resolved[k] >= 0)) bad.push(`${k} must be a number >= 0`);
  }
  if (bad.length > 0) throw new CallroomError('CR_VAD_CONFIG', `invalid VAD options: ${bad.join('; ')}`);
  return resolved;
}
