import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Logger } from '../../core/logger.ts';
import { createAudioCodec, type AudioCodec } from '../../media/audio-codec.ts';
import { ByteSlab } from '../../media/byte-slab.ts';
import { alawDecode, mulawDecode } from '../../media/g711.ts';
import { JitterBuffer, LOST, PcmConcealer, type JitterBufferStats } from '../../media/jitter-buffer.ts';
import { PcmSlab } from '../../media/pcm-slab.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import type { DtmfEvent } from '../../media/rtp/dtmf-4733.ts';
import type { RtpPacket } from '../../media/rtp/packet.ts';
import type { Pacer, PacerClient, PacerRegistration } from '../../media/rtp/pacer.ts';
import type { PortAllocator } from '../../media/rtp/port-allocator.ts';
import { RtpSession, type RtpSessionStats } from '../../media/rtp/rtp-session.ts';
import type { SocketBufferSizes } from '../../media/rtp/udp-bind.ts';
import type { RtpIo } from '../../media/rtp/udp-io.ts';
import type { NegotiatedAudio } from '../../sip/sdp/negotiate.ts';
import type { SipMediaEndpoint } from '../../sip/user-agent/media-endpoint.ts';

/** Send queue, in packets (1 s at 20 ms). */
const QUEUE_CAPACITY = 50;
/**
 * Received audio still buffered after a frame is played is normally at most the prefetch (`jitterMs`). More than
 * that is a backlog (a stall, or a burst after one, left it): it is drained by skipping quiet frames, one extra
 * per slot, so the caller is not heard later for the rest of the call. Speech is never skipped; and nothing is
 * skipped until we have sent no audio for OUT_QUIET_MS: the agent's own voice may still be coming back as echo,
 * which the echo guard matches to what we sent at a steady delay that skipping frames would shift.
 */
const OUT_QUIET_MS = 1000;
/** A frame this quiet (RMS, 16-bit; about -44 dBFS) is a pause: skipping 20 ms of it is not heard. */
const QUIET_RMS = 200;

/**
 * What one leg's media did since it opened, for metrics: every field only grows (the jitter buffer's counts carry
 * over a ptime change, which replaces the buffer).
 */
export interface RtpLegCounters {
  /** RTP packets received (audio and telephone-events) and sent. */
  readonly packetsIn: number;
  readonly packetsOut: number;
  /** Sequence numbers never received (RFC 3550 expected - received). */
  readonly lost: number;
  /** Received too late to play, duplicates, and dropped by the jitter buffer (depth bound, unconfirmed strays). */
  readonly late: number;
  readonly duplicate: number;
  readonly dropped: number;
  /** Frames concealed (played without a packet). */
  readonly concealed: number;
  /** Jitter buffer resets, and discontinuities it followed (new SSRC, sequence restart or jump). */
  readonly resets: number;
  readonly resyncs: number;
  /** Datagrams ignored on the port: STUN, RTCP, DTLS, invalid, and RTP from another source than the latched one. */
  readonly ignored: number;
  /** Send slots skipped after the process stalled. */
  readonly skippedSlots: number;
  /** Quiet received frames skipped to shrink a backlog a stall left in the jitter buffer (latency, not audio, lost). */
  readonly drained: number;
  readonly sendErrors: number;
}

export interface RtpAudioLegOptions {
  readonly pacer: Pacer;
  readonly ports: PortAllocator;
  /** Address the socket binds. */
  readonly bindAddress: string;
  /** Address written into SDP (publicHost, or the bind address). */
  readonly advertiseAddress: string;
  /** Jitter buffer prefetch, ms. */
  readonly jitterMs: number;
  /** Kernel buffers of the RTP socket (config `rtp.recvBufferSize` / `sendBufferSize`); system defaults when absent. */
  readonly socketBuffers?: SocketBufferSizes;
  /** How the RTP socket reaches the network (config `rtp.io`): node:dgram when absent. */
  readonly io?: RtpIo;
  readonly logger?: Logger;
  /** Called once when the leg closes (the factory counts open legs). */
  readonly onClose?: () => void;
}

/**
 * Synchronous receive-side sinks: decoded audio at the codec's rate, the same packet time as G.711 code
 * words (G.711 calls only: the received payload, or the concealment re-encoded), and DTMF from RFC 4733.
 */
export interface AudioLegSinks {
  onAudio?(frame: AudioFrame): void;
  onPayload?(bytes: Uint8Array, codec: 'PCMU' | 'PCMA'): void;
  onDtmf?(event: DtmfEvent): void;
  /** Every audio packet as it arrives, before the jitter buffer (arrival timing for measurements). */
  onArrival?(pkt: RtpPacket): void;
}

/**
 * A call's audio over RTP: the SIP layer's media endpoint (port for SDP, `configure` after each offer/answer)
 * and, towards the call, decoded PCM frames in and PCM frames out. Received packets go through a jitter buffer
 * that the process-wide pacer drains every ptime, losses are concealed, and outgoing PCM is resampled to the
 * codec rate when needed, cut into ptime packets, encoded and queued on the RTP session's absolute schedule.
 */
export class RtpAudioLeg implements PacerClient, SipMediaEndpoint {
  readonly address: string;
  readonly port: number;
  readonly #session: RtpSession;
  readonly #pacer: Pacer;
  readonly #jitterMs: number;
  readonly #logger: Logger | undefined;
  readonly #onClose: (() => void) | undefined;
  #reg: PacerRegistration | null = null;
  #jitter: JitterBuffer<RtpPacket>;
  /** Counts of jitter buffers this leg replaced (ptime changes). */
  #retiredJitter: JitterBufferStats | null = null;
  readonly #concealer = new PcmConcealer();
  /** Decoded frames are views into shared chunks (they may be kept: never reused). */
  readonly #frames = new PcmSlab();
  /**
   * Received payloads are copied here before the jitter buffer keeps them: the datagram is valid only during the
   * receive callback (the native io reuses its area), and the copy, emitted to `onPayload`, may be kept.
   */
  readonly #payloadCopies = new ByteSlab();
  /** Encoded payloads for `sendFrame`, reused round-robin: more of them than the send queue holds. */
  readonly #payloads: Uint8Array[] = [];
  #nextPayload = 0;
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
  #drained = 0;
  /** The send queue's count at the last slot, and slots since we last sent audio. */
  #lastDequeued = 0;
  #outQuietSlots = 0;
  /** Code words waiting to fill a packet (`writeEncoded`). */
  #pendingBytes = new Uint8Array(480);
  #pendingBytesLen = 0;
  /** Outbound audio accepted, and dropped by `clearOutput`, in ms (for `outputPosition`). */
  #writtenMs = 0;
  #droppedMs = 0;
  /** Packets (at this ptime) dequeued before the last ptime or codec change, and the session count then. */
  #playedBase = 0;
  #dequeuedAtBase = 0;

  private constructor(session: RtpSession, options: RtpAudioLegOptions) {
    this.#session = session;
    this.#pacer = options.pacer;
    this.#jitterMs = options.jitterMs;
    this.#logger = options.logger;
    this.#onClose = options.onClose;
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
      ...(options.socketBuffers === undefined ? {} : { socketBuffers: options.socketBuffers }),
      ...(options.io === undefined ? {} : { io: options.io }),
      codec: { payloadType: 0, clockRate: 8000, ptimeMs: 20 },
      telephoneEvent: null,
      queueCapacity: QUEUE_CAPACITY,
      queuePolicy: 'wait',
      // One pacer slot per call: the leg plays out its received audio, then the session sends, so audio echoed
      // (or otherwise sent) in a slot goes out in that slot.
      pacedByOwner: true,
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
    if (this.#codec?.name !== audio.codec || audio.ptime !== this.#ptime) this.#rebasePlayed();
    if (this.#codec?.name !== audio.codec) {
      this.#codec = createAudioCodec(audio.codec);
      this.#resampler?.close();
      this.#resampler = null;
      this.#pendingLen = 0;
      this.#pendingBytesLen = 0;
    }
    this.#payloadType = audio.payloadType;
    if (audio.ptime !== this.#ptime) {
      this.#ptime = audio.ptime;
      this.#retiredJitter = addJitterStats(this.#retiredJitter, this.#jitter.stats());
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
    this.#writtenMs += (pcm.length * 1000) / codec.sampleRate;
    this.#append(pcm);
    const n = this.#samplesPerPacket(codec);
    let offset = 0;
    while (this.#pendingLen - offset >= n) {
      ok = this.#session.enqueue(codec.encode(this.#pending.subarray(offset, offset + n), this.#payloadBuffer(n / codec.samplesPerByte))) && ok;
      offset += n;
    }
    this.#shift(offset);
    return ok;
  }

  /** Queue PCM, waiting for room in the send queue (TTS faster than real time). */
  async write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    const codec = this.#codec;
    if (codec === null || !this.#sendEnabled || this.#closed) return;
    const pcm = this.#toCodecRate(frame, codec);
    this.#writtenMs += (pcm.length * 1000) / codec.sampleRate;
    this.#append(pcm);
    const n = this.#samplesPerPacket(codec);
    while (this.#pendingLen >= n) {
      const payload = codec.encode(this.#pending.subarray(0, n), new Uint8Array(n / codec.samplesPerByte));
      this.#shift(n);
      await this.#session.write(payload, signal);
    }
  }

  /**
   * Queue G.711 code words as they are (a TTS that speaks mu-law: no decode, no re-encode). Bytes in the
   * other law, or on a G.722 call, are decoded and take the PCM path.
   */
  async writeEncoded(bytes: Uint8Array, law: 'PCMU' | 'PCMA', signal?: AbortSignal): Promise<void> {
    const codec = this.#codec;
    if (codec === null || !this.#sendEnabled || this.#closed) return;
    if (codec.name !== law) {
      const pcm = law === 'PCMU' ? mulawDecode(bytes) : alawDecode(bytes);
      await this.write({ samples: pcm, sampleRate: 8000, timestamp: 0 }, signal);
      return;
    }
    this.#writtenMs += bytes.length / 8;
    const need = this.#pendingBytesLen + bytes.length;
    if (need > this.#pendingBytes.length) {
      const grown = new Uint8Array(Math.max(need, this.#pendingBytes.length * 2));
      grown.set(this.#pendingBytes.subarray(0, this.#pendingBytesLen));
      this.#pendingBytes = grown;
    }
    this.#pendingBytes.set(bytes, this.#pendingBytesLen);
    this.#pendingBytesLen = need;
    const n = this.#samplesPerPacket(codec);
    let offset = 0;
    while (this.#pendingBytesLen - offset >= n) {
      const payload = this.#pendingBytes.slice(offset, offset + n);
      offset += n;
      await this.#session.write(payload, signal);
    }
    this.#pendingBytes.copyWithin(0, offset, this.#pendingBytesLen);
    this.#pendingBytesLen -= offset;
  }

  /** Pad a partial packet with silence, queue it, and resolve once the send queue has played out. */
  async drained(signal?: AbortSignal): Promise<void> {
    const codec = this.#codec;
    if (codec === null || this.#closed) return;
    const n = this.#samplesPerPacket(codec);
    if (this.#pendingLen > 0 && this.#sendEnabled) {
      const pad = n - this.#pendingLen;
      await this.write({ samples: new Int16Array(pad), sampleRate: codec.sampleRate, timestamp: 0 }, signal);
    }
    if (this.#pendingBytesLen > 0 && this.#sendEnabled && codec.name !== 'G722') {
      const silence = new Uint8Array(n - this.#pendingBytesLen).fill(codec.name === 'PCMU' ? 0xff : 0xd5);
      await this.writeEncoded(silence, codec.name, signal);
    }
    this.#pendingLen = 0;
    this.#pendingBytesLen = 0;
    if (signal?.aborted === true) return;
    await this.#session.whenQueueEmpty();
  }

  /** Drop everything queued for sending (barge-in): how many packets and how much audio. */
  clearOutput(): { packets: number; droppedMs: number } {
    const codec = this.#codec;
    const partial = this.#pendingLen + this.#pendingBytesLen;
    this.#pendingLen = 0;
    this.#pendingBytesLen = 0;
    const packets = this.#session.clearQueue();
    if (codec === null) return { packets, droppedMs: 0 };
    const droppedMs = ((packets * this.#samplesPerPacket(codec) + partial) * 1000) / codec.sampleRate;
    this.#droppedMs += droppedMs;
    return { packets, droppedMs };
  }

  /** When the latest outbound talk spurts started (clock ms of their first packet on the wire). */
  talkSpurtStarts(): number[] {
    return this.#session.talkSpurtStarts();
  }

  /** Hold queued audio (a caller may be starting to talk) or let it play on; nothing is dropped. */
  setOutputPaused(paused: boolean): void {
    this.#session.setSendPaused(paused);
  }

  /** Outbound audio accepted and played out so far, in milliseconds since the leg opened. */
  outputPosition(): { writtenMs: number; playedMs: number } {
    const writtenMs = this.#writtenMs - this.#droppedMs;
    const playedMs = this.#playedBase + (this.#session.dequeued - this.#dequeuedAtBase) * this.#ptime;
    return { writtenMs, playedMs: Math.min(playedMs, writtenMs) };
  }

  /** Send RFC 4733 digits (if negotiated). */
  sendDtmf(digits: string, durationMs = 100): void {
    this.#session.sendDtmf(digits, durationMs);
  }

  stats(): RtpSessionStats {
    return this.#session.stats();
  }

  /** Monotonic counters of this leg's media (cheap: read on a metrics scrape, not per packet). */
  mediaCounters(): RtpLegCounters {
    const s = this.#session.stats();
    const j = addJitterStats(this.#retiredJitter, this.#jitter.stats());
    const ig = s.ignored;
    return {
      packetsIn: s.received.packets,
      packetsOut: s.sent.packets,
      lost: s.received.lost,
      late: j.late,
      duplicate: j.duplicate,
      dropped: j.dropped,
      concealed: j.concealed,
      resets: j.resets,
      resyncs: j.resyncs,
      ignored: ig.stun + ig.rtcp + ig.dtls + ig.invalid + ig.foreignSource,
      skippedSlots: s.skippedSlots,
      sendErrors: s.errors.send,
      drained: this.#drained,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose?.();
    this.#reg?.close();
    this.#reg = null;
    this.#resampler?.close();
    await this.#session.close();
  }

  /** Pacer slot: play out one ptime of received audio, then send this slot's packet. */
  onPace(slot: number, dueMs: number, nowMs: number, skipped: number): void {
    this.#playout(nowMs - dueMs >= this.#ptime);
    this.#session.onPace(slot, dueMs, nowMs, skipped);
    const sent = this.#session.dequeued;
    if (sent !== this.#lastDequeued) {
      this.#lastDequeued = sent;
      this.#outQuietSlots = 0;
    } else if (this.#outQuietSlots < 1_000_000) this.#outQuietSlots += 1 + skipped;
  }

  /**
   * One ptime of received audio to the sinks. `late`: the slot is served a period or more behind schedule (the
   * process stalled); the packet due may be waiting in the socket rather than lost, so an empty buffer is not
   * concealed: the audio plays when it arrives (the jitter buffer absorbs the delay, up to its depth).
   */
  #playout(late: boolean): void {
    const codec = this.#codec;
    if (codec === null || (late && this.#jitter.size === 0)) return;
    let popped = this.#jitter.pop();
    if (popped === null) return;
    const onPayload = this.#sinks.onPayload;
    let pcm = popped === LOST ? null : this.#decode(codec, popped.payload);
    // A backlog: skip this frame if it is a pause, and play the next one in its slot.
    if (pcm !== null && this.#jitter.size * this.#ptime > this.#jitterMs && this.#outQuietSlots * this.#ptime >= OUT_QUIET_MS && rms(pcm) < QUIET_RMS) {
      this.#drained++;
      popped = this.#jitter.pop() ?? LOST;
      pcm = popped === LOST ? null : this.#decode(codec, popped.payload);
    }
    if (popped === LOST || pcm === null) {
      pcm = this.#concealer.conceal(this.#frames.take((codec.sampleRate * this.#ptime) / 1000));
      if (onPayload !== undefined && codec.name !== 'G722') this.#emitPayload(onPayload, codec.encode(pcm), codec.name);
    } else {
      this.#concealer.good(pcm);
      if (onPayload !== undefined && codec.name !== 'G722') this.#emitPayload(onPayload, popped.payload, codec.name);
    }
    const frame: AudioFrame = { samples: pcm, sampleRate: codec.sampleRate, timestamp: this.#playoutTs };
    this.#playoutTs += this.#ptime;
    try {
      this.#sinks.onAudio?.(frame);
    } catch (err) {
      this.#logger?.warn({ err }, 'audio sink failed');
    }
  }

  #decode(codec: AudioCodec, payload: Uint8Array): Int16Array {
    return codec.decode(payload, this.#frames.take(payload.length * codec.samplesPerByte));
  }

  /**
   * A payload buffer of `bytes` octets for `sendFrame`. The session keeps a payload until its slot, and holds at
   * most QUEUE_CAPACITY, taken in order: a ring one longer than that never hands out a buffer still queued.
   */
  #payloadBuffer(bytes: number): Uint8Array {
    const i = this.#nextPayload;
    this.#nextPayload = (i + 1) % (QUEUE_CAPACITY + 1);
    let buf = this.#payloads[i];
    if (buf === undefined || buf.length !== bytes) {
      buf = new Uint8Array(bytes);
      this.#payloads[i] = buf;
    }
    return buf;
  }

  #emitPayload(fn: (bytes: Uint8Array, codec: 'PCMU' | 'PCMA') => void, bytes: Uint8Array, codec: 'PCMU' | 'PCMA'): void {
    try {
      fn(bytes, codec);
    } catch (err) {
      this.#logger?.warn({ err }, 'payload sink failed');
    }
  }

  /** Carry the played position over a ptime or codec change (packets before it counted at the old ptime). */
  #rebasePlayed(): void {
    if (this.#codec === null) return;
    this.#playedBase += (this.#session.dequeued - this.#dequeuedAtBase) * this.#ptime;
    this.#dequeuedAtBase = this.#session.dequeued;
  }

  #onPacket(received: RtpPacket): void {
    if (received.payloadType !== this.#payloadType || this.#codec === null) return;
    // Kept past this call (jitter buffer, then onPayload listeners): a copy of its own, off the datagram.
    const pkt: RtpPacket = {
      marker: received.marker,
      payloadType: received.payloadType,
      sequenceNumber: received.sequenceNumber,
      timestamp: received.timestamp,
      ssrc: received.ssrc,
      csrc: received.csrc,
      extension: received.extension === null ? null : { profile: received.extension.profile, data: received.extension.data.slice() },
      paddingLength: received.paddingLength,
      payload: this.#payloadCopies.copy(received.payload),
    };
    this.#sinks.onArrival?.(pkt);
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

function addJitterStats(a: JitterBufferStats | null, b: JitterBufferStats): JitterBufferStats {
  if (a === null) return b;
  return {
    received: a.received + b.received,
    lost: a.lost + b.lost,
    late: a.late + b.late,
    duplicate: a.duplicate + b.duplicate,
    reordered: a.reordered + b.reordered,
    concealed: a.concealed + b.concealed,
    dropped: a.dropped + b.dropped,
    resets: a.resets + b.resets,
    resyncs: a.resyncs + b.resyncs,
  };
}

/** Root mean square of a frame. */
function rms(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += (pcm[i] as number) * (pcm[i] as number);
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
