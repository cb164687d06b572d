/**
 * Early voice edges from the VAD's per-window speech probability, ahead of its confirmed speech_start
 * (which waits `minSpeechMs`): an onset after `onWindows` windows at or above the threshold, an offset
 * after `offWindows` below the lower threshold. Used to pause playback the moment a caller starts to talk.
 */
export interface VoiceOnsetSettings {
  readonly threshold: number;
  readonly negThreshold: number;
  readonly onWindows: number;
  readonly offWindows: number;
}

export class VoiceOnsetDetector {
  readonly #s: VoiceOnsetSettings;
  #voiced = false;
  #run = 0;

  constructor(settings: VoiceOnsetSettings) {
    this.#s = settings;
  }

  get voiced(): boolean {
    return this.#voiced;
  }

  /** Feed one window's probability; returns the edge it completes, if any. */
  push(probability: number): 'onset' | 'offset' | undefined {
    if (!this.#voiced) {
      this.#run = probability >= this.#s.threshold ? this.#run + 1 : 0;
      if (this.#run >= this.#s.onWindows) {
        this.#voiced = true;
        this.#run = 0;
        return 'onset';
      }
      return undefined;
    }
    this.#run = probability < this.#s.negThreshold ? this.#run + 1 : 0;
    if (this.#run >= this.#s.offWindows) {
      this.#voiced = false;
      this.#run = 0;
      return 'offset';
    }
    return undefined;
  }

  reset(): void {
    this.#voiced = false;
    this.#run = 0;
  }
}
