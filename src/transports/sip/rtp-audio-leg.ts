import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Logger } from '../../core/logger.ts';
import { createAudioCodec, type AudioCodec } from '../../media/audio-codec.ts';
import { JitterBuffer, LOST, PcmConcealer } from '../../media/jitter-buffer.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import type { DtmfEvent } from '../../media/rtp/dtmf-4733.ts';
import type { RtpPacket } from '../../media/rtp/packet.ts';
import type { Pacer, PacerClient, PacerRegistration } from '../../media/rtp/pacer.ts';
import type { PortAllocator } from '../../media/rtp/port-allocator.ts';
import { RtpSession, type RtpSessionStats } from '../../media/rtp/rtp-session.ts';
import type { NegotiatedAudio } from '../../sip/sdp/negotiate.ts';

export interface RtpAudioLegOptions {
  readonly pacer: Pacer;
  readonly ports: PortAllocator;
  /** Address the socket binds. */
  readonly bindAddress: string;
  /** Address written into SDP (publicHost, or the bind address). */
  readonly advertiseAddress: string;
  /** Jitter buffer prefetch, ms. */
  readonly jitterMs: number;
  readonly logger?: Logger;
}

/** Synchronous receive-side sinks: decoded audio at the codec's rate, and DTMF from RFC 4733. */
export interface AudioLegSinks {
  onAudio?(frame: AudioFrame): void;
  onDtmf?(event: DtmfEvent): void;
}

/**
 * A call's audio over RTP: the SIP layer's media endpoint (port for SDP, `configure` after each offer/answer)
 * and, towards the call, decoded PCM frames in and PCM frames out. Received packets go through a jitter buffer
 * that the process-wide pacer drains every ptime, losses are concealed, and outgoing PCM is resampled to the
 * codec rate when needed, cut into ptime packets, encoded and queued on the RTP session's absolute schedule.
 */
export class RtpAudioLeg implements PacerClient {
  readonly address: string;
  readonly port: number;
  readonly #session: RtpSession;
  readonly #pacer: Pacer;
  readonly #jitterMs: number;
  readonly #logger: Logger | undefined;
  #reg: PacerRegistration | null = null;
  #jitter: JitterBuffer<RtpPacket>;
  readonly #concealer = new PcmConcealer();
  #codec: AudioCodec | null = null;
  #payloadType = -1;
  #ptime = 20;
  #sendEnabled = false;
  #sinks: AudioLegSinks = {};
  #pending = new Int16Array(960);
  #pendingLen = 0;
  #resampler: Resampler | null = null;
  #playoutTs = 0;
  #closed = false;

  private constructor(session: RtpSession, options: RtpAudioLegOptions) {
    this.#session = session;
    this.#pacer = options.pacer;
    this.#jitterMs = options.jitterMs;
    this.#logger = options.logger;
    this.address = options.advertiseAddress;
    this.port = session.port;
    this.#jitter = this.#newJitter(20);
  }

  /** Bind an RTP port from the allocator. Media flows once `configure` has run. */
  static async open(options: RtpAudioLegOptions): Promise<RtpAudioLeg> {
    const session = await RtpSession.open({
      pacer: options.pacer,
      ports: options.ports,
      bindAddress: options.bindAddress,
      codec: { payloadType: 0, clockRate: 8000, ptimeMs: 20 },
      telephoneEvent: null,
      queueCapacity: 50,
      queuePolicy: 'wait',
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    const leg = new RtpAudioLeg(session, options);
    session.setHandlers({ onPacket: (pkt) => leg.#onPacket(pkt), onDtmf: (ev) => leg.#sinks.onDtmf?.(ev) });
    return leg;
  }

  /** The codec's PCM rate (8000 for G.711, 16000 for G.722); 0 before `configure`. */
  get sampleRate(): number {
    return this.#codec?.sampleRate ?? 0;
  }

  get codecName(): string | undefined {
    return this.#codec?.name;
  }

  setSinks(sinks: AudioLegSinks): void {
    this.#sinks = sinks;
  }

  /** Apply the result of an offer/answer exchange (answer, re-INVITE, UPDATE). */
  configure(audio: NegotiatedAudio): void {
    if (this.#closed) return;
    if (this.#codec?.name !== audio.codec) {
      this.#codec = createAudioCodec(audio.codec);
      this.#resampler?.close();
      this.#resampler = null;
      this.#pendingLen = 0;
    }
    this.#payloadType = audio.payloadType;
    if (audio.ptime !== this.#ptime) {
      this.#ptime = audio.ptime;
      this.#jitter = this.#newJitter(audio.ptime);
    }
    this.#session.setCodec({ payloadType: audio.payloadType, clockRate: 8000, ptimeMs: audio.ptime });
    this.#session.setTelephoneEvent(audio.dtmfPayloadType === undefined ? null : { payloadType: audio.dtmfPayloadType });
    // c=0.0.0.0 (RFC 2543 hold) keeps the old destination; a new SDP address reopens symmetric-RTP learning.
    if (audio.remoteAddress !== '0.0.0.0' && audio.remotePort !== 0) this.#session.setRemote(audio.remoteAddress, audio.remotePort);
    this.#sendEnabled = audio.direction === 'sendrecv' || audio.direction === 'sendonly';
    if (!this.#sendEnabled) this.clearOutput();
    if (this.#reg === null) this.#reg = this.#pacer.register(this, audio.ptime);
    else this.#reg.setPeriod(audio.ptime);
  }

  /**
   * Queue PCM for sending (any supported rate; resampled to the codec rate). Synchronous; returns false when
   * the send queue (1 s) is full or sending is off (hold). For faster-than-real-time producers use `write`.
   */
  sendFrame(frame: AudioFrame): boolean {
    const codec = this.#codec;
    if (codec === null || !this.#sendEnabled || this.#closed) return false;
    const pcm = this.#toCodecRate(frame, codec);
    let ok = true;
    this.#append(pcm);
    const n = this.#samplesPerPacket(codec);
    let offset = 0;
    while (this.#pendingLen - offset >= n) {
      ok = this.#session.enqueue(codec.encode(this.#pending.subarray(offset, offset + n), new Uint8Array(n / codec.samplesPerByte))) && ok;
      offset += n;
    }
    this.#shift(offset);
    return ok;
  }

  /** Queue PCM, waiting for room in the send queue (TTS faster than real time). */
  async write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    const codec = this.#codec;
    if (codec === null || !this.#sendEnabled || this.#closed) return;
    this.#append(this.#toCodecRate(frame, codec));
    const n = this.#samplesPerPacket(codec);
    while (this.#pendingLen >= n) {
      const payload = codec.encode(this.#pending.subarray(0, n), new Uint8Array(n / codec.samplesPerByte));
      this.#shift(n);
      await this.#session.write(payload, signal);
    }
  }

  /** Drop everything queued for sending (barge-in). Returns packets dropped. */
  clearOutput(): number {
    this.#pendingLen = 0;
    return this.#session.clearQueue();
  }

  /** Send RFC 4733 digits (if negotiated). */
  sendDtmf(digits: string, durationMs = 100): void {
    this.#session.sendDtmf(digits, durationMs);
  }

  stats(): RtpSessionStats {
    return this.#session.stats();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reg?.close();
    this.#reg = null;
    this.#resampler?.close();
    await this.#session.close();
  }

  /** Pacer slot: play out one ptime of received audio. */
  onPace(): void {
    const codec = this.#codec;
    if (codec === null) return;
    const popped = this.#jitter.pop();
    if (popped === null) return;
    const samples = (codec.sampleRate * this.#ptime) / 1000;
    let pcm: Int16Array;
    if (popped === LOST) {
      pcm = this.#concealer.conceal(new Int16Array(samples));
    } else {
      pcm = codec.decode(popped.payload, new Int16Array(popped.payload.length * codec.samplesPerByte));
      this.#concealer.good(pcm);
    }
    const frame: AudioFrame = { samples: pcm, sampleRate: codec.sampleRate, timestamp: this.#playoutTs };
    this.#playoutTs += this.#ptime;
    try {
      this.#sinks.onAudio?.(frame);
    } catch (err) {
      this.#logger?.warn({ err }, 'audio sink failed');
    }
  }

  #onPacket(pkt: RtpPacket): void {
    if (pkt.payloadType !== this.#payloadType || this.#codec === null) return;
    this.#jitter.push(pkt);
  }

  #newJitter(frameMs: number): JitterBuffer<RtpPacket> {
    return new JitterBuffer<RtpPacket>({
      frameMs,
      prefetchMs: this.#jitterMs,
      maxDepthMs: Math.max(200, this.#jitterMs * 4),
      maxConcealFrames: 5,
    });
  }

  #samplesPerPacket(codec: AudioCodec): number {
    return (codec.sampleRate * this.#ptime) / 1000;
  }

  #toCodecRate(frame: AudioFrame, codec: AudioCodec): Int16Array {
    if (frame.sampleRate === codec.sampleRate) return frame.samples;
    if (this.#resampler === null || this.#resampler.fromRate !== frame.sampleRate) {
      this.#resampler?.close();
      this.#resampler = createResampler(frame.sampleRate, codec.sampleRate);
    }
    return this.#resampler.process(frame.samples);
  }

  #append(pcm: Int16Array): void {
    const need = this.#pendingLen + pcm.length;
    if (need > this.#pending.length) {
      const grown = new Int16Array(Math.max(need, this.#pending.length * 2));
      grown.set(this.#pending.subarray(0, this.#pendingLen));
      this.#pending = grown;
    }
    this.#pending.set(pcm, this.#pendingLen);
    this.#pendingLen = need;
  }

  #shift(n: number): void {
    if (n === 0) return;
    this.#pending.copyWithin(0, n, this.#pendingLen);
    this.#pendingLen -= n;
  }
}
