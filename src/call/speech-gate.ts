/**
 * Only speech reaches the recogniser: audio passes while the VAD hears a voice, plus what came just before
 * the onset (a pre-roll, since the VAD reports an onset after the first syllable), and never long runs of
 * silence. Offline recognisers adapt their normalisation to what they hear, and minutes of (often digital)
 * silence spoil it; they also cost CPU per second of audio, speech or not. Cloud recognisers keep their
 * connection with keep-alives meanwhile.
 */
import type { AudioFrame } from '../core/audio-frame.ts';

export interface SpeechGateSink {
  write(frame: AudioFrame): void;
  writeEncoded(bytes: Uint8Array): void;
}

type Held = { readonly frame: AudioFrame; readonly bytes?: undefined } | { readonly bytes: Uint8Array; readonly frame?: undefined };

export class SpeechGate {
  readonly #sink: SpeechGateSink;
  readonly #preRollMs: number;
  readonly #held: Array<{ item: Held; ms: number }> = [];
  #heldMs = 0;
  #open = false;

  constructor(sink: SpeechGateSink, preRollMs = 600) {
    this.#sink = sink;
    this.#preRollMs = preRollMs;
  }

  get open(): boolean {
    return this.#open;
  }

  /** A voice started: the pre-roll goes out, then audio passes until `close`. */
  openGate(): void {
    if (this.#open) return;
    this.#open = true;
    for (const { item } of this.#held.splice(0)) {
      if (item.frame !== undefined) this.#sink.write(item.frame);
      else this.#sink.writeEncoded(item.bytes);
    }
    this.#heldMs = 0;
  }

  closeGate(): void {
    this.#open = false;
  }

  write(frame: AudioFrame): void {
    if (this.#open) this.#sink.write(frame);
    else this.#hold({ frame }, (frame.samples.length * 1000) / frame.sampleRate);
  }

  writeEncoded(bytes: Uint8Array): void {
    if (this.#open) this.#sink.writeEncoded(bytes);
    else this.#hold({ bytes }, bytes.length / 8);
  }

  #hold(item: Held, ms: number): void {
    this.#held.push({ item, ms });
    this.#heldMs += ms;
    // Keep the pre-roll's worth of each kind (PCM and G.711 bytes arrive side by side on G.711 calls).
    while (this.#heldMs > this.#preRollMs * 2 && this.#held.length > 0) this.#heldMs -= this.#held.shift()?.ms ?? 0;
  }
}
