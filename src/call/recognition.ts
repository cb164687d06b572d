/**
 * A call's audio in: every frame from the leg goes, synchronously and without a Promise per frame, to the
 * VAD (speech edges, and per-window probabilities for early voice onsets), the echo guard, and the speech
 * recogniser. What they find comes out as `HearingEvent`s for turn-taking. A new audio format (a re-INVITE
 * switching G.722 to PCMU) reopens VAD and recogniser at the new rate; narrowband audio is never upsampled
 * to trick a wideband-only recogniser, which then refuses it and the call goes on by keypad.
 */
import type { AudioFrame } from '../core/audio-frame.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Unsubscribe } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import { createResampler, type Resampler } from '../media/resample/index.ts';
import type { SttProvider } from '../providers/types.ts';
import type { Vad, VadOptions, VadStream } from '../vad/vad.ts';
import type { CallLeg, LegAudioFormat } from './call-leg.ts';
import type { EchoGuard } from './echo-guard.ts';
import { SpeechGate } from './speech-gate.ts';
import { SttLink, type SttStatus } from './stt-link.ts';
import type { HearingEvent } from './turn-taking.ts';
import { VoiceOnsetDetector } from './voice-onset.ts';

/** A stream silent for longer than this is filled with silence; checked this often. */
const GAP_MS = 80;
const GAP_CHECK_MS = 100;
/** How long an unconfirmed voice onset keeps the recogniser listening. */
const ONSET_GATE_MS = 1500;

export interface RecognitionOptions {
  readonly leg: CallLeg;
  readonly vad: Vad;
  readonly vadOptions: Partial<VadOptions>;
  readonly stt: readonly SttProvider[];
  readonly language?: string;
  readonly keywords?: readonly string[];
  readonly echoGuard: EchoGuard | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onHearing: (event: HearingEvent) => void;
  readonly onSttStatus: (status: SttStatus) => void;
  /** The caller's speech edges on the call clock (for the turn latency waterfall). */
  readonly onSpeechEdge?: (edge: 'start' | 'end', atMs: number) => void;
}

export class Recognition {
  readonly #o: RecognitionOptions;
  readonly #stt: SttLink;
  readonly #gate: SpeechGate;
  /** When an onset opened the gate without the VAD confirming speech yet (ms, call clock). */
  #onsetOpenAt: number | undefined;
  /** The voice now heard was attributed to echo (onset / confirmed segment): re-checked every window. */
  #echoOnset = false;
  #echoSegment = false;
  #notEchoRun = 0;
  readonly #offs: Unsubscribe[] = [];
  #format: LegAudioFormat | undefined;
  #vad: VadStream | undefined;
  #vadResampler: Resampler | undefined;
  #vadRate = 0;
  #onset: VoiceOnsetDetector | undefined;
  /** Call-clock time minus media time of the latest frame (maps VAD timestamps to the call clock). */
  #mediaToClock = 0;
  /** End of the latest frame, media and clock time (for filling gaps with silence). */
  #lastMediaEnd = 0;
  #lastFrameAt = -1;
  #gapTimer: TimerHandle | undefined;
  #closed = false;

  constructor(options: RecognitionOptions) {
    this.#o = options;
    this.#stt = new SttLink({
      providers: options.stt,
      ...(options.language === undefined ? {} : { language: options.language }),
      ...(options.keywords === undefined ? {} : { keywords: options.keywords }),
      logger: options.logger,
      onStatus: options.onSttStatus,
      onEvent: (ev) => {
        if (ev.type === 'transcript') this.#emit({ type: ev.isFinal ? 'final' : 'interim', text: ev.text });
      },
    });
    this.#gate = new SpeechGate(this.#stt);
  }

  /** Whether a recogniser hears this call (false: keypad only). */
  get canHear(): boolean {
    return this.#stt.available;
  }

  get sttProvider(): string | undefined {
    return this.#stt.provider;
  }

  /** Attach to the leg's audio and DTMF. Call after the leg's media is agreed (after answer). */
  start(): void {
    const leg = this.#o.leg;
    this.#offs.push(leg.onFrame((frame) => this.#onFrame(frame)));
    this.#offs.push(leg.onEncoded((bytes) => this.#gate.writeEncoded(bytes)));
    this.#offs.push(leg.onDtmf((d) => this.#emit({ type: 'dtmf', digit: d.digit })));
    const format = leg.inputFormat;
    if (format !== undefined) this.#reformat(format);
    this.#armGapFill();
  }

  /** Ask the recogniser for final text for the audio so far (end of the caller's turn). */
  finalize(): void {
    this.#stt.finalize();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#offs.splice(0)) off();
    if (this.#gapTimer !== undefined) this.#o.clock.clearTimeout(this.#gapTimer);
    this.#vad?.close();
    this.#vadResampler?.close();
    await this.#stt.close();
  }

  #onFrame(frame: AudioFrame): void {
    if (this.#closed) return;
    this.#lastFrameAt = this.#o.clock.now();
    this.#lastMediaEnd = frame.timestamp + (frame.samples.length * 1000) / frame.sampleRate;
    this.#feed(frame);
  }

  /**
   * A peer that stops sending (silence suppression, a paused stream, hold) sends no frames at all: the VAD
   * and the recogniser then hear silence for the gap, so speech still ends and the turn is decided.
   */
  #armGapFill(): void {
    this.#gapTimer = this.#o.clock.setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#closed) return;
      const format = this.#format;
      const now = this.#o.clock.now();
      if (format !== undefined && this.#lastFrameAt >= 0 && now - this.#lastFrameAt > GAP_MS) {
        const missing = Math.min(1000, now - this.#lastFrameAt);
        const n = Math.floor(missing / 20);
        const silence = new Int16Array(format.sampleRate / 50);
        for (let i = 0; i < n; i++) {
          this.#feed({ samples: silence, sampleRate: format.sampleRate, timestamp: this.#lastMediaEnd });
          this.#lastMediaEnd += 20;
        }
        this.#lastFrameAt += n * 20;
      }
      this.#armGapFill();
    }, GAP_CHECK_MS);
  }

  #feed(frame: AudioFrame): void {
    const format = this.#format;
    if (format === undefined || frame.sampleRate !== format.sampleRate) {
      const now = this.#o.leg.inputFormat;
      this.#reformat(now !== undefined && now.sampleRate === frame.sampleRate ? now : { sampleRate: frame.sampleRate, encoding: 'pcm_s16le' });
    }
    const nowMs = this.#o.clock.now();
    this.#mediaToClock = nowMs - (frame.timestamp + (frame.samples.length * 1000) / frame.sampleRate);
    this.#o.echoGuard?.noteInbound(frame.samples, nowMs);
    const vad = this.#vad;
    if (vad !== undefined) {
      if (this.#vadResampler === undefined) vad.push(frame);
      else vad.push({ samples: this.#vadResampler.process(frame.samples).slice(), sampleRate: this.#vadRate, timestamp: frame.timestamp });
    }
    this.#gate.write(frame);
    // An onset the VAD never confirmed (a click, a cough) closes the gate again.
    if (this.#onsetOpenAt !== undefined && nowMs - this.#onsetOpenAt > ONSET_GATE_MS) {
      this.#onsetOpenAt = undefined;
      if (this.#vad?.speaking !== true) this.#gate.closeGate();
    }
  }

  #reformat(format: LegAudioFormat): void {
    this.#format = format;
    this.#vad?.close();
    this.#vadResampler?.close();
    this.#vadResampler = undefined;
    const { vad } = this.#o;
    // VAD at the audio's own rate where the engine takes it, else at 16 kHz (never upsampled from 8 kHz).
    this.#vadRate = vad.supportsSampleRate(format.sampleRate) ? format.sampleRate : format.sampleRate > 16000 ? 16000 : 8000;
    if (this.#vadRate !== format.sampleRate) this.#vadResampler = createResampler(format.sampleRate, this.#vadRate);
    const threshold = this.#o.vadOptions.threshold ?? 0.5;
    this.#onset = new VoiceOnsetDetector({ threshold, negThreshold: Math.max(0.01, threshold - 0.15), onWindows: 2, offWindows: 3 });
    this.#vad = vad.createStream({
      ...this.#o.vadOptions,
      sampleRate: this.#vadRate,
      onProbability: (p) => {
        const edge = this.#onset?.push(p);
        if (edge === 'onset') {
          if (!this.#gate.open) this.#onsetOpenAt = this.#o.clock.now();
          this.#gate.openGate();
          const echo = this.#isEcho();
          this.#echoOnset = echo;
          this.#notEchoRun = 0;
          this.#emit({ type: 'onset', echo });
        } else if (edge === 'offset') {
          this.#echoOnset = false;
          this.#emit({ type: 'offset' });
        } else if ((this.#echoOnset || this.#echoSegment) && this.#onset?.voiced === true) {
          this.#recheckEcho();
        }
      },
      onEvent: (ev) => {
        if (ev.type === 'speech_start') {
          this.#onsetOpenAt = undefined;
          this.#gate.openGate();
          this.#o.onSpeechEdge?.('start', ev.timestamp + this.#mediaToClock);
          const echo = this.#isEcho();
          this.#echoSegment = echo;
          this.#emit({ type: 'speech_start', echo });
        } else if (ev.type === 'speech_end') {
          this.#echoSegment = false;
          this.#o.onSpeechEdge?.('end', ev.timestamp + this.#mediaToClock);
          this.#gate.closeGate();
          this.#emit({ type: 'speech_end' });
        } else {
          // Without a VAD the recogniser hears everything; speech edges come from it alone.
          this.#gate.openGate();
          this.#o.logger.warn({ code: ev.error.code }, 'vad failed: the recogniser now hears all audio');
        }
      },
    });
    this.#stt.start(format);
  }

  /**
   * A voice taken for our echo keeps the VAD in speech, so a caller who starts talking over it makes no new
   * edge: while it lasts, each window is checked again, and once the caller's audio stands well above what the
   * echo brings (three windows in a row) the caller's onset (and speech start, if the VAD had confirmed the
   * segment) are reported.
   */
  #recheckEcho(): void {
    if (this.#o.echoGuard?.louderThanEcho(this.#o.clock.now()) !== true) {
      this.#notEchoRun = 0;
      return;
    }
    if (++this.#notEchoRun < 3) return;
    this.#notEchoRun = 0;
    if (this.#echoOnset) {
      this.#echoOnset = false;
      this.#emit({ type: 'onset', echo: false });
    }
    if (this.#echoSegment) {
      this.#echoSegment = false;
      this.#emit({ type: 'speech_start', echo: false });
    }
  }

  #isEcho(): boolean {
    return this.#o.echoGuard?.isEcho(this.#o.clock.now()) ?? false;
  }

  #emit(event: HearingEvent): void {
    if (this.#closed) return;
    try {
      this.#o.onHearing(event);
    } catch (err) {
      this.#o.logger.warn({ err, event: event.type }, 'hearing handler failed');
    }
  }
}
