import type { AudioFrame } from '../../core/audio-frame.ts';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Cuts a client's binary messages (s16le PCM in chunks of any size, odd byte counts included) into frames of
 * one packet time at the call's input rate, so the session sees the same 20 ms frames whatever the client's
 * chunking. Synchronous; one new Int16Array per frame (listeners may keep frames).
 */
export class PcmFramer {
  readonly sampleRate: number;
  readonly #frameSamples: number;
  readonly #emit: (frame: AudioFrame) => void;
  #frame: Int16Array;
  #filled = 0;
  /** A byte left over from an odd-sized message: the low byte of the next sample. */
  #carry = -1;
  #samplesOut = 0;

  constructor(sampleRate: number, emit: (frame: AudioFrame) => void, frameMs = 20) {
    this.sampleRate = sampleRate;
    this.#frameSamples = Math.round((sampleRate * frameMs) / 1000);
    this.#emit = emit;
    this.#frame = new Int16Array(this.#frameSamples);
  }

  /** Frames emitted so far. */
  get frames(): number {
    return this.#samplesOut / this.#frameSamples;
  }

  push(data: Uint8Array): void {
    let offset = 0;
    if (this.#carry >= 0 && data.length > 0) {
      this.#put((this.#carry | ((data[0] as number) << 8)) << 16 >> 16);
      this.#carry = -1;
      offset = 1;
    }
    const pairs = (data.length - offset) >> 1;
    if (pairs > 0) {
      const start = data.byteOffset + offset;
      // Aligned, little-endian input is viewed in place; anything else is read byte by byte.
      if (LITTLE_ENDIAN && (start & 1) === 0) {
        const view = new Int16Array(data.buffer, start, pairs);
        let i = 0;
        while (i < pairs) {
          const n = Math.min(this.#frameSamples - this.#filled, pairs - i);
          this.#frame.set(view.subarray(i, i + n), this.#filled);
          this.#filled += n;
          i += n;
          if (this.#filled === this.#frameSamples) this.#flush();
        }
      } else {
        for (let i = 0; i < pairs; i++) {
          const at = offset + 2 * i;
          this.#put((((data[at] as number) | ((data[at + 1] as number) << 8)) << 16) >> 16);
        }
      }
      offset += pairs * 2;
    }
    if (offset < data.length) this.#carry = data[offset] as number;
  }

  #put(sample: number): void {
    this.#frame[this.#filled++] = sample;
    if (this.#filled === this.#frameSamples) this.#flush();
  }

  #flush(): void {
    const frame: AudioFrame = { samples: this.#frame, sampleRate: this.sampleRate, timestamp: (this.#samplesOut * 1000) / this.sampleRate };
    this.#samplesOut += this.#frameSamples;
    this.#frame = new Int16Array(this.#frameSamples);
    this.#filled = 0;
    this.#emit(frame);
  }
}
