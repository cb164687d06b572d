/**
 * The caller's audio to the realtime model, synchronously from the leg's media callbacks, one
 * `appendAudio` per frame and no Promise per frame. G.711 the model takes as it is goes straight from
 * the leg's `onEncoded` (the RTP payload, untouched); anything else is taken from `onFrame` as PCM,
 * resampled to the model's rate and encoded (`InputEncoder`).
 *
 * Manual turns (Callroom decides when the caller's turn ends): every frame also goes to the call's VAD,
 * and audio reaches the model only while the caller speaks, starting with a short pre-roll so the onset
 * the VAD needed to decide is not lost (Gemini treats any audio after a turn as the start of the next one,
 * which would interrupt the model's answer). Speech edges are reported to the bridge.
 *
 * While no session is open (it is opened once the call is answered, when the leg's codec is known, and
 * reopened after a drop) the caller's audio is held, up to a few seconds, and goes to the session first.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import type { RealtimeAudioFormat } from '../../providers/types.ts';
import type { Vad, VadEvent, VadOptions, VadStream } from '../../vad/vad.ts';
import type { CallLeg, LegEncoding } from '../call-leg.ts';
import { bytesPerMs, isPassThrough } from './formats.ts';
import { InputEncoder } from './input-encoder.ts';

/** Caller audio kept before a VAD speech start (manual turns): more than the VAD's minimum speech plus padding. */
const PRE_ROLL_MS = 600;
/** Caller audio held while no session is open (being opened after the answer, or reopened after a drop). */
const HOLD_MS = 3000;

export interface ManualTurns {
  readonly vad: Vad;
  readonly options: Partial<VadOptions>;
}

export interface CallerAudioOptions {
  readonly leg: CallLeg;
  /** The session's input format. */
  readonly format: RealtimeAudioFormat;
  /** Set for manual turns. */
  readonly manual: ManualTurns | undefined;
  /** Manual turns: the caller started (barge-in cue) or stopped speaking (end of turn). */
  readonly onSpeech?: (edge: 'start' | 'end') => void;
  readonly logger: Logger;
}

export class CallerAudio {
  readonly #o: CallerAudioOptions;
  readonly #encoder: InputEncoder;
  readonly #offs: Unsubscribe[] = [];
  readonly #preRollBytes: number;
  readonly #holdBytes: number;
  #held: Uint8Array[] = [];
  #heldSize = 0;
  #sink: ((bytes: Uint8Array) => void) | undefined;
  #vad: VadStream | undefined;
  #vadRate = 0;
  #vadResampler: Resampler | undefined;
  #speaking = false;
  #preRoll: Uint8Array[] = [];
  #preRollSize = 0;
  #closed = false;

  constructor(options: CallerAudioOptions) {
    this.#o = options;
    this.#encoder = new InputEncoder(options.format);
    this.#preRollBytes = Math.round(PRE_ROLL_MS * bytesPerMs(options.format));
    this.#holdBytes = Math.round(HOLD_MS * bytesPerMs(options.format));
  }

  /** Where audio goes: the open session's `appendAudio` (undefined while none is open: audio is held). */
  setSink(sink: ((bytes: Uint8Array) => void) | undefined): void {
    this.#sink = sink;
    if (sink === undefined) return;
    for (const chunk of this.#held.splice(0)) sink(chunk);
    this.#heldSize = 0;
  }

  /** Start taking the leg's audio. */
  start(): void {
    if (this.#closed || this.#offs.length > 0) return;
    const { leg } = this.#o;
    this.#offs.push(leg.onEncoded((bytes, encoding) => this.#onEncoded(bytes, encoding)));
    this.#offs.push(leg.onFrame((frame) => this.#onFrame(frame)));
  }

  close(): void {
    this.#closed = true;
    for (const off of this.#offs.splice(0)) off();
    this.#vad?.close();
    this.#vad = undefined;
    this.#vadResampler?.close();
    this.#encoder.close();
    this.#preRoll = [];
    this.#held = [];
    this.#sink = undefined;
  }

  #onEncoded(bytes: Uint8Array, encoding: LegEncoding): void {
    if (encoding !== this.#o.format.encoding || !isPassThrough(this.#o.leg.inputFormat, this.#o.format)) return;
    this.#deliver(bytes, false);
  }

  #onFrame(frame: AudioFrame): void {
    if (this.#closed) return;
    if (this.#o.manual !== undefined) this.#detect(frame);
    // G.711 in the model's own law came through onEncoded already.
    if (frame.sampleRate === 8000 && isPassThrough(this.#o.leg.inputFormat, this.#o.format)) return;
    const bytes = this.#encoder.encode(frame);
    if (bytes.byteLength > 0) this.#deliver(bytes, true);
  }

  /** `reused`: the bytes are a view the encoder will overwrite (copied when kept). */
  #deliver(bytes: Uint8Array, reused: boolean): void {
    if (this.#o.manual === undefined || this.#speaking) {
      this.#send(bytes, reused);
      return;
    }
    this.#preRoll.push(reused ? bytes.slice() : bytes);
    this.#preRollSize += bytes.byteLength;
    while (this.#preRollSize - (this.#preRoll[0]?.byteLength ?? 0) >= this.#preRollBytes) this.#preRollSize -= this.#preRoll.shift()?.byteLength ?? 0;
  }

  #send(bytes: Uint8Array, reused: boolean): void {
    if (this.#sink !== undefined) {
      this.#sink(bytes);
      return;
    }
    this.#held.push(reused ? bytes.slice() : bytes);
    this.#heldSize += bytes.byteLength;
    while (this.#heldSize > this.#holdBytes && this.#held.length > 1) this.#heldSize -= this.#held.shift()?.byteLength ?? 0;
  }

  /** Manual turns: the frame to the VAD (at a rate it takes). */
  #detect(frame: AudioFrame): void {
    const manual = this.#o.manual;
    if (manual === undefined) return;
    const rate = manual.vad.supportsSampleRate(frame.sampleRate) ? frame.sampleRate : 16000;
    if (this.#vad === undefined || this.#vadRate !== rate) {
      this.#vad?.close();
      this.#vadResampler?.close();
      this.#vadResampler = rate === frame.sampleRate ? undefined : createResampler(frame.sampleRate, rate);
      this.#vadRate = rate;
      try {
        this.#vad = manual.vad.createStream({ ...manual.options, sampleRate: rate, onEvent: (e) => this.#onVad(e) });
      } catch (err) {
        this.#o.logger.error({ err: errorMessage(err), sampleRate: rate }, 'realtime: no VAD for manual turns at this rate');
        this.#vad = undefined;
        return;
      }
    }
    const samples = this.#vadResampler === undefined ? frame.samples : this.#vadResampler.process(frame.samples).slice();
    this.#vad?.push({ samples, sampleRate: rate, timestamp: frame.timestamp });
  }

  #onVad(e: VadEvent): void {
    if (this.#closed) return;
    if (e.type === 'error') {
      this.#o.logger.error({ err: e.error.message }, 'realtime: VAD failed; manual turns stop');
      return;
    }
    if (e.type === 'speech_start' && !this.#speaking) {
      this.#speaking = true;
      // Barge-in first: the model must stop before the new turn's audio reaches it.
      this.#o.onSpeech?.('start');
      for (const chunk of this.#preRoll.splice(0)) this.#send(chunk, false);
      this.#preRollSize = 0;
    } else if (e.type === 'speech_end' && this.#speaking) {
      this.#speaking = false;
      this.#o.onSpeech?.('end');
    }
  }
}
