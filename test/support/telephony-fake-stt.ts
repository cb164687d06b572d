/**
 * A speech recogniser test double for narrowband calls (pocketsphinx is wideband only): it listens to the
 * audio's energy and, when asked to finalize after it has heard at least `minSpeechMs` of speech-loud
 * frames, emits the next scripted transcript as final. It hears nothing in silence or quiet noise, so a
 * test that forgets to play speech gets no turn. Encodings: PCM (and mu-law, decoded with the reference
 * `alawmulaw` package), so G.711 passthrough is exercised when the leg offers it.
 */
import alawmulaw from 'alawmulaw';
import type { AudioFrame } from '../../src/core/audio-frame.ts';
import type { AudioEncoding, SttEvent, SttProvider, SttSession, SttSessionOptions } from '../../src/providers/types.ts';

export interface EnergySttOptions {
  /** Transcripts, one per finalized utterance, in order; the last one repeats. */
  readonly transcripts: readonly string[];
  /** Speech heard before a finalize gives a transcript (default 300 ms). */
  readonly minSpeechMs?: number;
  /** Frame RMS that counts as speech (default 400). */
  readonly rmsThreshold?: number;
  readonly encodings?: readonly AudioEncoding[];
}

export class EnergyStt implements SttProvider {
  readonly name = 'energy-scripted';
  readonly encodings: readonly AudioEncoding[];
  readonly #o: EnergySttOptions;
  #next = 0;
  /** Sessions opened, with their options. */
  readonly opened: SttSessionOptions[] = [];
  /** Bytes given to sessions as G.711 (passthrough) and as PCM samples. */
  encodedBytes = 0;
  pcmSamples = 0;

  constructor(options: EnergySttOptions) {
    this.#o = options;
    this.encodings = options.encodings ?? ['pcm_s16le'];
  }

  supportsSampleRate(): boolean {
    return true;
  }

  /** @internal */
  nextTranscript(): string {
    const list = this.#o.transcripts;
    const t = list[Math.min(this.#next, list.length - 1)] ?? '';
    this.#next++;
    return t;
  }

  async open(options: SttSessionOptions): Promise<SttSession> {
    this.opened.push(options);
    return new EnergySession(this, options, this.#o.minSpeechMs ?? 300, this.#o.rmsThreshold ?? 400);
  }
}

class EnergySession implements SttSession {
  readonly #stt: EnergyStt;
  readonly #rate: number;
  readonly #encoding: AudioEncoding;
  readonly #minSpeechMs: number;
  readonly #threshold: number;
  #speechMs = 0;
  #queue: SttEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(stt: EnergyStt, options: SttSessionOptions, minSpeechMs: number, threshold: number) {
    this.#stt = stt;
    this.#rate = options.sampleRate;
    this.#encoding = options.encoding ?? 'pcm_s16le';
    this.#minSpeechMs = minSpeechMs;
    this.#threshold = threshold;
  }

  write(frame: AudioFrame): void {
    this.#stt.pcmSamples += frame.samples.length;
    this.#hear(frame.samples, frame.sampleRate);
  }

  writeEncoded(bytes: Uint8Array): void {
    this.#stt.encodedBytes += bytes.byteLength;
    const pcm = this.#encoding === 'alaw' ? alawmulaw.alaw.decode(bytes) : alawmulaw.mulaw.decode(bytes);
    this.#hear(pcm, this.#rate);
  }

  keepAlive(): void {}

  finalize(): void {
    if (this.#speechMs >= this.#minSpeechMs) {
      this.#speechMs = 0;
      this.#push({ type: 'transcript', text: this.#stt.nextTranscript(), isFinal: true, speechFinal: true });
    } else {
      this.#push({ type: 'transcript', text: '', isFinal: true, speechFinal: true });
    }
  }

  async *events(): AsyncIterable<SttEvent> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        yield next;
        if (next.type === 'closed') return;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#push({ type: 'closed' });
    this.#closed = true;
  }

  #hear(samples: Int16Array, rate: number): void {
    let sum = 0;
    for (let i = 0; i < samples.length; i++) sum += (samples[i] as number) ** 2;
    const rms = Math.sqrt(sum / Math.max(1, samples.length));
    if (rms > this.#threshold) this.#speechMs += (samples.length * 1000) / rate;
  }

  #push(ev: SttEvent): void {
    this.#queue.push(ev);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}
