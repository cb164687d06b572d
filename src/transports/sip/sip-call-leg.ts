import type { AudioFrame } from '../../core/audio-frame.ts';
import type { CallEnd, SipCall, TransferResult, Unsubscribe } from '../../sip/user-agent/index.ts';
import type { RtpAudioLeg } from './rtp-audio-leg.ts';

/** A DTMF key from either path: RFC 4733 on RTP, or SIP INFO. */
export interface CallDtmf {
  readonly digit: string;
  readonly durationMs: number | undefined;
  readonly source: 'rfc4733' | 'info';
}

/**
 * A SIP call as the call layer sees it: signalling (answer, reject, hangup, transfer) and audio (decoded frames
 * in at the codec rate, PCM frames out at any rate) on one object, with DTMF merged from RFC 4733 and INFO and
 * sent the way the peer supports (RFC 4733 when telephone-event was negotiated, else INFO).
 */
export class SipCallLeg {
  readonly call: SipCall;
  readonly audio: RtpAudioLeg;
  readonly #dtmf = new Set<(d: CallDtmf) => void>();
  readonly #frames = new Set<(f: AudioFrame) => void>();

  constructor(call: SipCall, audio: RtpAudioLeg) {
    this.call = call;
    this.audio = audio;
    audio.setSinks({
      onAudio: (frame) => {
        for (const fn of this.#frames) fn(frame);
      },
      onDtmf: (ev) => {
        if (ev.type === 'digit-end') this.#emitDtmf({ digit: ev.digit, durationMs: ev.durationMs, source: 'rfc4733' });
      },
    });
    call.onDtmf((ev) => this.#emitDtmf({ digit: ev.digit, durationMs: ev.durationMs, source: 'info' }));
  }

  get id(): string {
    return this.call.id;
  }

  /** PCM rate of received frames (8000 for G.711, 16000 for G.722); 0 before media is agreed. */
  get sampleRate(): number {
    return this.audio.sampleRate;
  }

  get ended(): Promise<CallEnd> {
    return this.call.ended;
  }

  answer(): Promise<void> {
    return this.call.answer();
  }

  reject(status: number, reason?: string): void {
    this.call.reject(status, reason);
  }

  hangup(): Promise<void> {
    return this.call.hangup();
  }

  transfer(target: string): Promise<TransferResult> {
    return this.call.transfer(target);
  }

  /** Send digits: RFC 4733 events when negotiated, otherwise SIP INFO. */
  async sendDtmf(digits: string, durationMs = 100): Promise<void> {
    if (this.call.audio?.dtmfPayloadType !== undefined) this.audio.sendDtmf(digits, durationMs);
    else await this.call.sendInfoDtmf(digits, { durationMs });
  }

  /** Queue audio to the caller (synchronous; false when the 1 s queue is full or the call is held). */
  sendFrame(frame: AudioFrame): boolean {
    return this.audio.sendFrame(frame);
  }

  /** Queue audio, waiting for room (TTS faster than real time). */
  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.audio.write(frame, signal);
  }

  /** Drop queued outbound audio (barge-in). */
  clearOutput(): number {
    return this.audio.clearOutput();
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    this.#frames.add(fn);
    return () => this.#frames.delete(fn);
  }

  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    this.#dtmf.add(fn);
    return () => this.#dtmf.delete(fn);
  }

  #emitDtmf(d: CallDtmf): void {
    for (const fn of this.#dtmf) fn(d);
  }
}
