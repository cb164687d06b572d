import type { AudioFrame } from '../../core/audio-frame.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, LegTransferResult, OutputPosition } from '../../call/call-leg.ts';
import type { CallEnd, SipCall } from '../../sip/user-agent/index.ts';
import { wireToFrame } from '../../media/wire-audio.ts';
import { InbandDtmfDetector } from '../../media/dtmf-detector.ts';
import type { RtpAudioLeg } from './rtp-audio-leg.ts';

/**
 * A SIP call as the call layer sees it (`CallLeg`): signalling (answer, hangup, REFER transfer) and audio
 * (decoded frames in at the codec rate, and G.711 bytes for pass-through; PCM at any rate or G.711 bytes
 * out), DTMF merged from RFC 4733, INFO and, when the peer did not agree telephone-event, tones heard in the
 * caller's audio; sent the way the peer supports (RFC 4733 when telephone-event was negotiated, else INFO).
 */
export class SipCallLeg implements CallLeg {
  readonly medium = 'sip';
  readonly ended: Promise<LegEnd>;
  readonly clientTools = undefined;
  readonly #call: SipCall;
  readonly #audio: RtpAudioLeg;
  readonly #frames: Listeners<AudioFrame>;
  readonly #encoded: Listeners<Uint8Array>;
  readonly #dtmf: Listeners<CallDtmf>;
  readonly #arrivals: Listeners<boolean>;
  /** Listens for key tones in the caller's audio while no telephone-event is agreed (created on first need). */
  #inband: InbandDtmfDetector | undefined;

  constructor(call: SipCall, audio: RtpAudioLeg, logger?: Logger) {
    this.#call = call;
    this.#audio = audio;
    const onError = (err: unknown): void => logger?.warn({ err }, 'call leg listener failed');
    this.#frames = new Listeners(onError);
    this.#encoded = new Listeners(onError);
    this.#dtmf = new Listeners(onError);
    this.#arrivals = new Listeners(onError);
    audio.setSinks({
      onAudio: (frame) => {
        if (call.audio !== undefined && call.audio.dtmfPayloadType === undefined) this.#listenForTones(frame);
        this.#frames.emit(frame);
      },
      onPayload: (bytes) => {
        if (this.#encoded.size > 0) this.#encoded.emit(bytes);
      },
      onDtmf: (ev) => {
        if (ev.type === 'digit-end') this.#dtmf.emit({ digit: ev.digit, durationMs: ev.durationMs, source: 'rfc4733' });
      },
      onArrival: (pkt) => {
        if (this.#arrivals.size > 0) this.#arrivals.emit(pkt.marker);
      },
    });
    call.onDtmf((ev) => this.#dtmf.emit({ digit: ev.digit, durationMs: ev.durationMs, source: 'info' }));
    this.ended = call.ended.then(legEnd);
  }

  get id(): string {
    return this.#call.id;
  }

  /** PCM rate of received frames (8000 for G.711, 16000 for G.722); 0 before media is agreed. */
  get sampleRate(): number {
    return this.#audio.sampleRate;
  }

  get inputFormat(): LegAudioFormat | undefined {
    return formatOf(this.#audio.codecName);
  }

  get outputFormat(): LegAudioFormat | undefined {
    return formatOf(this.#audio.codecName);
  }

  /** Per-call RTP figures: packets sent, received and lost, quiet frames drained (for records and echo mode's log line). */
  mediaStats(): Readonly<Record<string, number>> {
    const s = this.#audio.stats();
    return { sent: s.sent.packets, received: s.received.packets, lost: s.received.lost, jitterMs: s.received.jitterMs, drained: this.#audio.mediaCounters().drained };
  }

  get codecName(): string | undefined {
    return this.#audio.codecName;
  }

  /** Inbound: 200 OK, resolving on the ACK. An outbound call (answered by the far end) resolves at once. */
  answer(): Promise<void> {
    if (this.#call.direction === 'outbound' || this.#call.state === 'active') return Promise.resolve();
    return this.#call.answer();
  }

  reject(status: number, reason?: string): void {
    this.#call.reject(status, reason);
  }

  hangup(): Promise<void> {
    return this.#call.hangup();
  }

  readonly transfer = async (target: string): Promise<LegTransferResult> => {
    const r = await this.#call.transfer(target);
    return { ok: r.ok, status: r.status };
  };

  /** Send digits: RFC 4733 events when negotiated, otherwise SIP INFO. */
  async sendDtmf(digits: string, durationMs = 100): Promise<void> {
    if (this.#call.audio?.dtmfPayloadType !== undefined) this.#audio.sendDtmf(digits, durationMs);
    else await this.#call.sendInfoDtmf(digits, { durationMs });
  }

  /** Queue audio to the caller (synchronous; false when the 1 s queue is full or the call is held). */
  sendFrame(frame: AudioFrame): boolean {
    return this.#audio.sendFrame(frame);
  }

  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.#audio.write(frame, signal);
  }

  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    if (encoding === 'pcm_s16le') return this.#audio.write(wireToFrame(bytes, encoding, this.#audio.sampleRate || 8000), signal);
    return this.#audio.writeEncoded(bytes, encoding === 'mulaw' ? 'PCMU' : 'PCMA', signal);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.#audio.drained(signal);
  }

  talkSpurtStarts(): readonly number[] {
    return this.#audio.talkSpurtStarts();
  }

  pauseOutput(paused: boolean): void {
    this.#audio.setOutputPaused(paused);
  }

  clearOutput(): { droppedMs: number } {
    return { droppedMs: this.#audio.clearOutput().droppedMs };
  }

  outputPosition(): OutputPosition {
    return this.#audio.outputPosition();
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    return this.#frames.add(fn);
  }

  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe {
    return this.#encoded.add((bytes) => fn(bytes, this.inputFormat?.encoding ?? 'mulaw'));
  }

  /** Each audio packet as it arrives (before the jitter buffer), with its marker bit: a talk spurt starts with one. */
  onRtpArrival(fn: (marker: boolean) => void): Unsubscribe {
    return this.#arrivals.add(fn);
  }

  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    return this.#dtmf.add(fn);
  }

  #listenForTones(frame: AudioFrame): void {
    if (this.#inband?.sampleRate !== frame.sampleRate) {
      this.#inband = new InbandDtmfDetector(frame.sampleRate, (digit, durationMs) => this.#dtmf.emit({ digit, durationMs, source: 'inband' }));
    }
    this.#inband.push(frame.samples);
  }
}

function formatOf(codec: string | undefined): LegAudioFormat | undefined {
  if (codec === 'PCMU') return { sampleRate: 8000, encoding: 'mulaw' };
  if (codec === 'PCMA') return { sampleRate: 8000, encoding: 'alaw' };
  if (codec === 'G722') return { sampleRate: 16000, encoding: 'pcm_s16le' };
  return undefined;
}

/** The SIP ending in call words. */
function legEnd(end: CallEnd): LegEnd {
  const status = end.status === undefined ? {} : { status: end.status };
  if (end.transferredTo !== undefined) return { reason: 'transferred', transferredTo: end.transferredTo, ...status };
  switch (end.reason) {
    case 'local-bye':
      return { reason: 'local-hangup', ...status };
    case 'remote-bye':
      return { reason: 'remote-hangup', ...status };
    case 'cancel':
      return { reason: 'cancelled', ...status };
    case 'rejected':
      return { reason: 'rejected', ...status };
    case 'timeout':
      return { reason: 'timeout', ...status };
    default:
      return { reason: 'error', ...status };
  }
}
