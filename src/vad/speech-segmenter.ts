import type { ResolvedVadOptions, VadEvent } from './vad.ts';

/**
 * Turns per-window speech probabilities into speech_start / speech_end events: the hysteresis and
 * duration rules of Silero's own `VADIterator` / `get_speech_timestamps`, made incremental.
 *
 * - silence -> speech: a window >= threshold opens a candidate; speech_start is reported once the
 *   candidate has lasted minSpeechMs without a window below negThreshold (which drops it). The
 *   timestamp is the candidate's onset minus speechPadMs (not before the stream's first sample).
 * - speech -> silence: a window < negThreshold starts a tentative end; a window >= threshold cancels
 *   it; once it has lasted minSilenceMs, speech_end is reported at the tentative end plus speechPadMs
 *   (not later than the audio analysed so far). Windows between the two thresholds change nothing.
 */
export class SpeechSegmenter {
  readonly #o: ResolvedVadOptions;
  readonly #emit: (e: VadEvent) => void;
  #speaking = false;
  #firstMs: number | undefined;
  #candidateMs: number | undefined;
  #silenceMs: number | undefined;
  #startMs = 0;
  #lastEndMs = 0;

  constructor(options: ResolvedVadOptions, emit: (e: VadEvent) => void) {
    this.#o = options;
    this.#emit = emit;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** One analysed window: probability, start time and duration in ms. */
  update(p: number, startMs: number, durationMs: number): void {
    const o = this.#o;
    const endMs = startMs + durationMs;
    this.#firstMs ??= startMs;
    this.#lastEndMs = endMs;
    if (!this.#speaking) {
      if (p >= o.threshold) this.#candidateMs ??= startMs;
      else if (p < o.negThreshold) this.#candidateMs = undefined;
      if (this.#candidateMs !== undefined && endMs - this.#candidateMs >= o.minSpeechMs) {
        this.#speaking = true;
        this.#silenceMs = undefined;
        this.#startMs = Math.max(this.#firstMs, this.#candidateMs - o.speechPadMs);
        this.#candidateMs = undefined;
        this.#emit({ type: 'speech_start', timestamp: this.#startMs });
      }
      return;
    }
    if (p >= o.threshold) {
      this.#silenceMs = undefined;
    } else if (p < o.negThreshold) {
      this.#silenceMs ??= startMs;
      if (endMs - this.#silenceMs >= o.minSilenceMs) this.#close(Math.min(endMs, this.#silenceMs + o.speechPadMs));
    }
  }

  /** End of audio: an open segment ends at its tentative end (padded) or at the last window's end. */
  finish(): void {
    if (!this.#speaking) return;
    const end = this.#silenceMs === undefined ? this.#lastEndMs : Math.min(this.#lastEndMs, this.#silenceMs + this.#o.speechPadMs);
    this.#close(end);
  }

  #close(endMs: number): void {
    this.#speaking = false;
    this.#silenceMs = undefined;
    this.#candidateMs = undefined;
    this.#emit({ type: 'speech_end', timestamp: endMs, startTimestamp: this.#startMs });
  }
}
