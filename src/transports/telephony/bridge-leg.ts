import type { AudioFrame } from '../../core/audio-frame.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, OutputPosition } from '../../call/call-leg.ts';
import type { SessionEvent } from '../../call/session-events.ts';
import { PcmFramer } from '../ws/pcm-framer.ts';
import { InboundSmoother } from './inbound-smoother.ts';
import { QueuedPlayout } from './queued-playout.ts';
import { wireToFrame } from '../../media/wire-audio.ts';
import { dtmfTones } from '../../media/dtmf-tones.ts';

/** How a bridge plays out: settings shared by every dialect (config `telephony.playout`). */
export interface PlayoutSettings {
  /** Audio queued in Callroom and not yet sent, at most. */
  readonly bufferMs: number;
  /** How far ahead of real time audio is sent to a platform that queues it. */
  readonly leadMs: number;
  readonly markEveryMs: number;
  readonly markTimeoutMs: number;
  readonly maxPendingMarks: number;
  /** Lead for a platform that plays what it gets at once (AudioSocket): a frame or so, for timer jitter. */
  readonly realtimeLeadMs: number;
}

/** What a dialect does on the wire for the leg. */
export interface BridgeWire {
  /** One outbound frame of s16le PCM at the output rate: encode it the platform's way and send. False: not now. */
  audio(pcm: Buffer): boolean;
  /** Ask for a playout acknowledgement after what was sent (absent: played means sent at real time). */
  mark?(name: string): void;
  /** The call layer answered (chan_websocket ANSWER). */
  answer?(): void;
  /** Tell the platform to drop what it queued (absent: stopping is enough). */
  clear?(): void;
  /** Our hang-up the platform's way, sent before the connection closes (HANGUP, disconnect, AudioSocket 0x00). */
  hangup?(): void;
  /** Close the connection (a WebSocket close code; the TCP bridge ignores it). */
  close(code: number, reason: string): void;
  /** The dialect's own counters (malformed messages, reordered frames, ...). */
  stats?(): Readonly<Record<string, number>>;
}

export interface BridgeLegOptions {
  readonly callId: string;
  /** `twilio`, `audiosocket`, ... */
  readonly medium: string;
  readonly input: LegAudioFormat;
  readonly output: LegAudioFormat;
  /** Length of an outbound frame, ms (default 20). */
  readonly frameMs?: number;
  readonly pacer: Pacer;
  readonly playout: PlayoutSettings;
  /** The platform queues audio and acknowledges marks; false: pace at real time (AudioSocket). */
  readonly queued: boolean;
  /** The platform sends caller audio in chunks longer than a packet (Exotel): hand it on one frame per 20 ms. */
  readonly smoothInbound?: boolean;
  readonly wire: BridgeWire;
  readonly logger: Logger;
}

/**
 * A telephony platform's call as the call layer sees it (`CallLeg`), shared by every dialect: the dialect
 * parses its wire format and calls `receive`/`dtmf`/`played`/`remoteEnded`, and encodes outbound frames
 * in its `BridgeWire`; this class does the rest the same way for all of them: inbound audio cut into
 * 20 ms frames (and the wire's G.711 bytes passed on for providers that take them), outbound audio paced
 * by `QueuedPlayout`, the flush on barge-in, and one ending.
 *
 * Client tools: none on the connection itself (`clientTools` undefined); an application attaches through
 * the control socket with the call's id, as for a SIP call.
 */
export class BridgeLeg implements CallLeg {
  readonly id: string;
  readonly medium: string;
  readonly ended: Promise<LegEnd>;
  readonly inputFormat: LegAudioFormat;
  readonly outputFormat: LegAudioFormat;
  readonly clientTools = undefined;
  readonly transfer = undefined;
  readonly #wire: BridgeWire;
  readonly #logger: Logger;
  readonly #playout: QueuedPlayout;
  readonly #framer: PcmFramer;
  readonly #smoother: InboundSmoother | undefined;
  readonly #pacer: Pacer;
  readonly #frames: Listeners<AudioFrame>;
  readonly #encoded: Listeners<Uint8Array>;
  readonly #dtmf: Listeners<CallDtmf>;
  #resolveEnded!: (end: LegEnd) => void;
  #answered = false;
  #end: LegEnd | undefined;
  #droppedBeforeAnswer = 0;
  #clears = 0;
  #dtmfIn = 0;
  #dtmfOut = 0;
  #pauseFlushes = 0;
  /** Counts clearOutput calls: audio being written in pieces (DTMF tones) stops at a barge-in. */
  #outputEpoch = 0;
  /** The platform queues audio and takes a flush: a pause can take back its lead. */
  readonly #canFlush: boolean;

  constructor(options: BridgeLegOptions) {
    this.id = options.callId;
    this.medium = options.medium;
    this.inputFormat = options.input;
    this.outputFormat = options.output;
    this.#wire = options.wire;
    this.#logger = options.logger;
    this.#canFlush = options.queued && options.wire.clear !== undefined;
    const onError = (err: unknown): void => this.#logger.warn({ err }, 'call leg listener failed');
    this.#frames = new Listeners(onError);
    this.#encoded = new Listeners(onError);
    this.#dtmf = new Listeners(onError);
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.#pacer = options.pacer;
    const emit = (frame: AudioFrame): void => this.#frames.emit(frame);
    this.#smoother = options.smoothInbound === true ? new InboundSmoother(emit) : undefined;
    const smoother = this.#smoother;
    this.#framer = new PcmFramer(options.input.sampleRate, smoother === undefined ? emit : (frame) => smoother.push(frame));
    const p = options.playout;
    const mark = options.wire.mark;
    this.#playout = new QueuedPlayout({
      sampleRate: options.output.sampleRate,
      ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }),
      bufferMs: p.bufferMs,
      leadMs: options.queued ? p.leadMs : p.realtimeLeadMs,
      pacer: options.pacer,
      transmit: (frame) => this.#end === undefined && this.#wire.audio(frame),
      ...(options.queued && mark !== undefined
        ? { marks: { send: (name: string) => mark.call(options.wire, name), everyMs: p.markEveryMs, timeoutMs: p.markTimeoutMs, maxPending: p.maxPendingMarks } }
        : {}),
    });
  }

  /** Whether the leg has ended. */
  get done(): boolean {
    return this.#end !== undefined;
  }

  // ---- from the platform (called by the dialect) ----

  /** Caller audio as PCM at the input rate, any length. Dropped before the call is answered. */
  receive(pcm: Int16Array): void {
    if (this.#end !== undefined) return;
    if (!this.#answered) {
      this.#droppedBeforeAnswer++;
      return;
    }
    this.#framer.push(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** The wire's G.711 bytes of the same audio (call alongside `receive`), for providers that take them. */
  receiveEncoded(bytes: Uint8Array): void {
    if (this.#end !== undefined || !this.#answered || this.#encoded.size === 0) return;
    this.#encoded.emit(bytes);
  }

  dtmf(digit: string, durationMs?: number): void {
    if (this.#end !== undefined || !this.#answered) return;
    this.#dtmfIn++;
    this.#logger.info({ digits: digit, durationMs }, 'dtmf from the platform');
    this.#dtmf.emit({ digit, durationMs, source: 'medium' });
  }

  /** The platform acknowledged mark `name` (played). False when it is not one outstanding. */
  played(name: string): boolean {
    return this.#end === undefined && this.#playout.acknowledge(name);
  }

  /** The platform ended the call (stop message, hang-up, close frame) or the connection failed. */
  remoteEnded(end: LegEnd): void {
    this.#finish(end, { hangup: false, code: 1000 });
  }

  /** End the call from the medium's side for a reason of its own (an idle timeout), telling the platform. */
  endCall(end: LegEnd): void {
    this.#finish(end, { hangup: true, code: 1000 });
  }

  /** The call layer refused the call before answering: the platform is told the call is over. */
  refuse(code: string, message: string): void {
    this.#finish({ reason: 'rejected', detail: `${code}: ${message}` }, { hangup: true, code: code === 'CR_CALL_LIMIT' ? 1013 : 1008 });
  }

  /** The session failed (not a refusal). */
  fail(detail: string): void {
    this.#finish({ reason: 'error', detail }, { hangup: true, code: 1011 });
  }

  /** The gateway is shutting down. */
  shutdown(): void {
    this.#finish({ reason: 'local-hangup', detail: 'gateway shutting down' }, { hangup: true, code: 1001 });
  }

  // ---- CallLeg ----

  async answer(): Promise<void> {
    if (this.#answered || this.#end !== undefined) return;
    this.#answered = true;
    this.#wire.answer?.();
    this.#playout.start();
    this.#smoother?.start(this.#pacer);
  }

  async hangup(): Promise<void> {
    this.#finish({ reason: 'local-hangup' }, { hangup: true, code: 1000 });
  }

  /**
   * The bridged platforms take no DTMF events from the server side, so the keys go in-band: their tones are
   * queued after what is already playing, paced like speech, and reach the call (and the PSTN beyond it) as
   * audio. Resolves when the last tone is queued. Throws `CR_DTMF_INVALID` for a character that is not a key.
   */
  async sendDtmf(digits: string, durationMs = 100): Promise<void> {
    if (this.#end !== undefined) return;
    const rate = this.outputFormat.sampleRate;
    const tones = dtmfTones(digits, rate, { toneMs: Math.min(Math.max(durationMs, 40), 2000) });
    this.#dtmfOut += digits.length;
    this.#logger.info({ digits, durationMs }, 'dtmf to the caller as in-band tones');
    const step = Math.round(rate / 50);
    // A barge-in (clearOutput) drops the keys still to come, as it drops speech.
    const epoch = this.#outputEpoch;
    for (let at = 0; at < tones.length && this.#end === undefined && this.#outputEpoch === epoch; at += step) {
      await this.write({ samples: tones.subarray(at, Math.min(tones.length, at + step)), sampleRate: rate, timestamp: 0 });
    }
  }

  onSessionEvent(event: SessionEvent): void {
    if (this.#end !== undefined) return;
    if (event.type === 'barge_in') this.clearOutput();
    else if (event.type === 'ended') this.#finish(event.end, { hangup: true, code: 1000 });
  }

  sendFrame(frame: AudioFrame): boolean {
    return this.#end === undefined && this.#playout.sendFrame(frame);
  }

  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    if (this.#end !== undefined) return Promise.resolve();
    return this.#playout.write(frame, signal);
  }

  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    return this.write(wireToFrame(bytes, encoding, this.outputFormat.sampleRate), signal);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.#playout.drained(signal);
  }

  /**
   * Hold the reply: the caller may be starting to talk over it. A platform that queues audio and can flush it
   * is told to drop the lead it holds (so the agent stops at once, not a lead later); that audio is taken
   * back and sent again if it was only a cough.
   */
  pauseOutput(paused: boolean): void {
    this.#playout.pause(paused);
    if (paused && this.#canFlush && this.#end === undefined && this.#playout.rewind() > 0) {
      this.#pauseFlushes++;
      this.#wire.clear?.();
    }
  }

  clearOutput(): { readonly droppedMs: number } {
    this.#outputEpoch++;
    const { droppedMs, platformHadAudio } = this.#playout.clear();
    if (platformHadAudio && this.#end === undefined) {
      this.#clears++;
      this.#wire.clear?.();
    }
    return { droppedMs };
  }

  outputPosition(): OutputPosition {
    return this.#playout.position();
  }

  mediaStats(): Readonly<Record<string, number>> {
    return {
      framesIn: this.#framer.frames,
      framesOut: this.#playout.framesSent,
      droppedBeforeAnswer: this.#droppedBeforeAnswer,
      dtmfIn: this.#dtmfIn,
      dtmfOut: this.#dtmfOut,
      playbackClears: this.#clears,
      pauseFlushes: this.#pauseFlushes,
      ...this.#playout.markStats(),
      ...(this.#wire.stats?.() ?? {}),
    };
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    return this.#frames.add(fn);
  }

  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe {
    const encoding = this.inputFormat.encoding;
    return this.#encoded.add((bytes) => fn(bytes, encoding));
  }

  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    return this.#dtmf.add(fn);
  }

  /** End once: stop audio, tell the platform (our hang-up), close the connection, resolve `ended`. */
  #finish(end: LegEnd, how: { hangup: boolean; code: number }): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#playout.stop();
    this.#smoother?.stop();
    try {
      if (how.hangup) this.#wire.hangup?.();
      this.#wire.close(how.code, end.reason);
    } catch (err) {
      this.#logger.warn({ err }, 'closing the platform connection failed');
    }
    this.#logger.info({ reason: end.reason, detail: end.detail, ...this.mediaStats() }, 'telephony call ended');
    this.#frames.clear();
    this.#encoded.clear();
    this.#dtmf.clear();
    this.#resolveEnded(end);
  }
}
