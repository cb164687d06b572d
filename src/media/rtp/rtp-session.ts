/**
 * One call leg's RTP: a UDP socket, an outbound stream paced by the process-wide Pacer, symmetric latching with
 * learning (source-latch.ts), RFC 4733 DTMF both ways, and RFC 3550 statistics. The SIP layer creates one per
 * call and configures it from SDP (`setRemote`, `setCodec`); payloads are opaque encoded frames. Packets go out
 * through rtp-transmitter.ts.
 *
 * Send side, per slot of ptime: DTMF packet if an event is on the wire, else the next queued payload, else the
 * idle payload if configured, else nothing. The RTP timestamp advances every slot whether or not anything is
 * sent, the sequence number on every packet sent, and the first packet after a gap carries the marker bit
 * (RFC 3551 §4.1), so several playback segments form one continuous stream.
 */

import { isIP } from 'node:net';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { CallroomError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { classifyDatagram } from './demux.ts';
import { DtmfReceiver, DtmfSender, type DtmfEvent } from './dtmf-4733.ts';
import { parseRtpDetailed, type RtpPacket } from './packet.ts';
import type { Pacer, PacerClient, PacerRegistration } from './pacer.ts';
import type { PortAllocator } from './port-allocator.ts';
import { RtpReceiveStats } from './receive-stats.ts';
import { RtpTransmitter } from './rtp-transmitter.ts';
import { SourceLatch } from './source-latch.ts';
import { dgramRtpIo } from './dgram-udp-io.ts';
import type { RtpUdpSocket } from './udp-io.ts';
import type {
  RtpCodecConfig,
  RtpRemote,
  RtpSessionHandlers,
  RtpSessionOptions,
  RtpSessionStats,
  TelephoneEventConfig,
} from './rtp-session-options.ts';
import { validateCodec, validateRemote } from './rtp-session-options.ts';

export type {
  RtpCodecConfig,
  RtpRemote,
  RtpSessionHandlers,
  RtpSessionOptions,
  RtpSessionStats,
  TelephoneEventConfig,
} from './rtp-session-options.ts';

const DEFAULT_TE_PT = 101;

/**
 * RTP for one call leg. Create with `RtpSession.open`, feed encoded payloads with `enqueue`/`write`, receive
 * through the synchronous handlers, `close()` when the call ends. Meant to run by the thousand per process on
 * one shared Pacer.
 */
export class RtpSession implements PacerClient {
  readonly port: number;
  readonly ssrc: number;
  readonly #socket: RtpUdpSocket;
  readonly #ports: PortAllocator | undefined;
  readonly #pacer: Pacer;
  /** Null when the owner paces this session (`pacedByOwner`). */
  readonly #reg: PacerRegistration | null;
  readonly #queue: BoundedChannel<Uint8Array>;
  readonly #idle: Uint8Array | undefined;
  readonly #symmetric: boolean;
  readonly #logger: Logger | undefined;
  readonly #onSendTiming: ((dueMs: number, actualMs: number) => void) | undefined;
  #te: TelephoneEventConfig | null;
  readonly #family: number;
  readonly #tx: RtpTransmitter;
  readonly #latch: SourceLatch;
  readonly #rx = new RtpReceiveStats();
  #dtmfRx: DtmfReceiver;
  #dtmfTx: DtmfSender | null;
  #codec: RtpCodecConfig;
  #samplesPerPacket: number;
  #remote: RtpRemote | null;
  #onPacket: ((pkt: RtpPacket, from: RtpRemote) => void) | undefined;
  #onDtmf: ((ev: DtmfEvent) => void) | undefined;
  #onLatch: ((remote: RtpRemote) => void) | undefined;
  #ts: number;
  #talking = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #sentDtmf = 0;
  #ignoredStun = 0;
  #ignoredRtcp = 0;
  #ignoredDtls = 0;
  #invalid = 0;
  #foreign = 0;
  #latches = 0;
  #skippedSlots = 0;
  #rxErrors = 0;
  /** Audio payloads taken off the send queue on their slot (sent, or skipped after a stall). */
  #dequeued = 0;
  #emptyWaiters: Array<() => void> = [];
  #sendPaused = false;
  readonly #spurts = new Float64Array(8);
  #spurtHead = 0;

  /** Bind a socket and start pacing. Rejects with a CallroomError when no port can be bound. */
  static async open(opts: RtpSessionOptions): Promise<RtpSession> {
    validateCodec(opts.codec);
    if (opts.remote !== undefined) validateRemote(opts.remote);
    if (opts.relatchAfterMs !== undefined && !(opts.relatchAfterMs >= 0)) {
      throw new CallroomError('CR_RTP_OPTIONS_INVALID', 'relatchAfterMs must be >= 0');
    }
    if (opts.remote !== undefined && isIP(opts.remote.address) !== isIP(opts.bindAddress ?? '0.0.0.0')) {
      throw new CallroomError('CR_RTP_REMOTE_INVALID', 'remote address family differs from the bind address');
    }
    const bindAddress = opts.bindAddress ?? '0.0.0.0';
    const socket = await (opts.io ?? dgramRtpIo).open(bindAddress, opts.ports, opts.port, opts.socketBuffers ?? {});
    try {
      return new RtpSession(opts, socket);
    } catch (err) {
      // e.g. the pacer was closed meanwhile: do not leak the socket or the port
      await socket.close();
      if (opts.ports !== undefined) opts.ports.release(socket.port);
      throw err;
    }
  }

  private constructor(opts: RtpSessionOptions, socket: RtpUdpSocket) {
    this.#socket = socket;
    const port = socket.port;
    this.port = port;
    this.#ports = opts.ports;
    this.#pacer = opts.pacer;
    this.#codec = opts.codec;
    this.#samplesPerPacket = samplesPerPacket(opts.codec);
    this.#family = isIP(opts.bindAddress ?? '0.0.0.0');
    this.#latch = new SourceLatch(opts.relatchAfterMs);
    this.#remote = null;
    if (opts.remote) this.setRemote(opts.remote.address, opts.remote.port);
    this.#queue = new BoundedChannel<Uint8Array>(opts.queueCapacity ?? 50, opts.queuePolicy ?? 'drop-oldest');
    this.#idle = opts.idlePayload;
    this.#symmetric = opts.symmetric ?? true;
    this.#logger = opts.logger;
    this.#onSendTiming = opts.onSendTiming;
    this.#onPacket = opts.onPacket;
    this.#onDtmf = opts.onDtmf;
    this.#onLatch = opts.onLatch;
    const rnd = crypto.getRandomValues(new Uint32Array(3));
    this.ssrc = (opts.ssrc ?? (rnd[0] as number)) >>> 0;
    const initialSequence = opts.initialSequence ?? (rnd[1] as number);
    this.#tx = new RtpTransmitter({ socket, ssrc: this.ssrc, initialSequence, port, logger: opts.logger });
    this.#ts = (opts.initialTimestamp ?? (rnd[2] as number)) >>> 0;
    this.#te = opts.telephoneEvent === null ? null : { payloadType: DEFAULT_TE_PT, ...opts.telephoneEvent };
    this.#dtmfRx = this.#makeDtmfReceiver();
    this.#dtmfTx = this.#makeDtmfSender();
    socket.setReceiver(
      (buf, from) => this.handleDatagram(buf, from),
      (err) => {
        this.#rxErrors++;
        this.#logger?.warn({ err, port: this.port }, 'rtp socket error');
      },
    );
    this.#reg = opts.pacedByOwner === true ? null : this.#pacer.register(this, this.#codec.ptimeMs);
  }

  get remote(): RtpRemote | null {
    return this.#remote;
  }

  get codec(): RtpCodecConfig {
    return this.#codec;
  }

  /** Payloads waiting to be sent. */
  get queued(): number {
    return this.#queue.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Which I/O path the socket is on ('dgram' or 'native'), and its kernel buffer sizes. */
  get socketInfo(): { readonly io: string; readonly recvBufferSize: number; readonly sendBufferSize: number } {
    const b = this.#socket.bufferSizes();
    return { io: this.#socket.kind, recvBufferSize: b.recv, sendBufferSize: b.send };
  }

  /**
   * Send to this address from now on (SDP answer, re-INVITE). Re-opens learning: the first source of valid RTP
   * after this call is latched, even if it differs from this address (NAT) and even if the old source is active.
   */
  setRemote(address: string, port: number): void {
    const remote = { address, port };
    validateRemote(remote);
    if (isIP(address) !== this.#family) {
      throw new CallroomError('CR_RTP_REMOTE_INVALID', 'remote address family differs from the bound socket');
    }
    this.#remote = remote;
    this.#latch.learn(remote);
  }

  /**
   * Change payload type, clock rate or ptime mid-call (re-INVITE). Timestamp and sequence continue. The
   * telephone-event clock follows the audio clock (RFC 4733 §2.1), so a new ptime or clock rate drops queued
   * DTMF digits.
   */
  setCodec(codec: RtpCodecConfig): void {
    validateCodec(codec);
    const ptimeChanged = codec.ptimeMs !== this.#codec.ptimeMs;
    const rateChanged = codec.clockRate !== this.#codec.clockRate;
    this.#codec = { ...codec };
    this.#samplesPerPacket = samplesPerPacket(codec);
    if (ptimeChanged) this.#reg?.setPeriod(codec.ptimeMs);
    if (ptimeChanged || rateChanged) this.#dtmfTx = this.#makeDtmfSender();
    if (rateChanged) this.#dtmfRx = this.#makeDtmfReceiver();
  }

  /** Change the RFC 4733 payload type negotiated for this call (null: the peer does not do telephone-events). */
  setTelephoneEvent(config: TelephoneEventConfig | null): void {
    this.#te = config === null ? null : { ...config };
    this.#dtmfTx = this.#makeDtmfSender();
  }

  /** Replace the receive callbacks (the call layer attaches after the SIP layer created the session). */
  setHandlers(h: RtpSessionHandlers): void {
    this.#onPacket = h.onPacket;
    this.#onDtmf = h.onDtmf;
    this.#onLatch = h.onLatch;
  }

  /**
   * Queue one encoded payload (one ptime of audio) to send; the session keeps the reference until it is sent.
   * Synchronous: under 'drop-oldest' a full queue drops its oldest payload; under 'wait' returns false when full.
   */
  enqueue(payload: Uint8Array): boolean {
    return this.#queue.push(payload);
  }

  /** Queue a payload, waiting for room under the 'wait' policy (a producer faster than real time, e.g. TTS). */
  write(payload: Uint8Array, signal?: AbortSignal): Promise<void> {
    return this.#queue.send(payload, signal);
  }

  /**
   * Hold queued audio without dropping it (true) or let it play on (false). While held nothing is sent and
   * the RTP timestamps keep advancing, so the audio resumes after a gap, as after silence.
   */
  setSendPaused(paused: boolean): void {
    this.#sendPaused = paused;
  }

  /** Audio payloads that have left the send queue on their slot since the session opened (played out). */
  get dequeued(): number {
    return this.#dequeued;
  }

  /** Resolves once the send queue is empty (at once when it is), or the session closes. */
  whenQueueEmpty(): Promise<void> {
    if (this.#queue.size === 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  /** Discard queued audio (barge-in). Returns how many payloads were dropped. */
  clearQueue(): number {
    const dropped = this.#queue.clear();
    this.#wakeEmpty();
    return dropped;
  }

  /**
   * Send DTMF digits as RFC 4733 events, interleaved with audio (audio is held while each event is on the wire).
   * Throws CallroomError CR_RTP_DTMF_DISABLED without a telephone-event payload type and RangeError on a
   * character that is not a digit.
   */
  sendDtmf(digits: string, durationMs = 100): void {
    if (this.#dtmfTx === null) throw new CallroomError('CR_RTP_DTMF_DISABLED', 'no telephone-event payload type');
    this.#dtmfTx.enqueue(digits, durationMs);
  }

  stats(): RtpSessionStats {
    return {
      sent: { packets: this.#tx.packets, bytes: this.#tx.bytes, dtmfPackets: this.#sentDtmf },
      received: {
        packets: this.#rx.packets,
        bytes: this.#rx.bytes,
        lost: this.#rx.lost,
        jitterMs: this.#rx.jitterMs,
        ssrc: this.#rx.ssrc,
      },
      ignored: {
        stun: this.#ignoredStun,
        rtcp: this.#ignoredRtcp,
        dtls: this.#ignoredDtls,
        invalid: this.#invalid,
        foreignSource: this.#foreign,
      },
      latches: this.#latches,
      queue: { size: this.#queue.size, dropped: this.#queue.dropped },
      skippedSlots: this.#skippedSlots,
      errors: { receive: this.#rxErrors, send: this.#tx.errors },
    };
  }

  /**
   * The receive path for one datagram (the socket's message handler; public so a shared-socket transport or a
   * test can feed it). Never throws: non-RTP is counted and dropped, a throwing handler is counted and logged.
   * `buf` need only be valid during the call (the native io reuses its receive area): handlers copy what they keep.
   */
  handleDatagram(buf: Uint8Array, from: RtpRemote): void {
    if (this.#closed) return;
    try {
      const kind = classifyDatagram(buf);
      if (kind !== 'rtp') {
        if (kind === 'stun') this.#ignoredStun++;
        else if (kind === 'rtcp') this.#ignoredRtcp++;
        else if (kind === 'dtls') this.#ignoredDtls++;
        else this.#invalid++;
        return;
      }
      const pkt = parseRtpDetailed(buf);
      if (typeof pkt === 'string') {
        this.#invalid++;
        return;
      }
      const now = this.#pacer.clock.now();
      if (this.#symmetric) {
        // RFC 4961: send where the peer's RTP really comes from (NAT, or an SDP address that is not the source),
        // but only the source learned first; another one is refused while that one is alive.
        const verdict = this.#latch.admit(this.#remote, from, now);
        if (verdict === 'refuse') {
          this.#foreign++;
          return;
        }
        if (verdict === 'latch') {
          const latched = { address: from.address, port: from.port };
          this.#remote = latched;
          this.#latches++;
          this.#onLatch?.(latched);
        }
      }
      const isDtmf = this.#te !== null && pkt.payloadType === this.#te.payloadType;
      this.#rx.update(pkt, buf.length, now, this.#codec.clockRate, !isDtmf);
      if (isDtmf) this.#dtmfRx.receive(pkt, now);
      else this.#onPacket?.(pkt, from);
    } catch (err) {
      this.#rxErrors++;
      this.#logger?.warn({ err, port: this.port }, 'rtp receive handler threw');
    }
  }

  /**
   * Pacer slot: send this ptime's packet (see the file comment for the order of preference). Called by the
   * pacer, or by the owner once per slot when the session was opened `pacedByOwner`.
   */
  onPace(_slot: number, dueMs: number, nowMs: number, skipped: number): void {
    if (this.#closed) return;
    if (skipped > 0) {
      // The process stalled: those slots' audio is stale. Keep the RTP clock in step with real time.
      this.#skippedSlots += skipped;
      this.#ts = (this.#ts + skipped * this.#samplesPerPacket) >>> 0;
      for (let i = 0; i < skipped; i++) if (this.#queue.tryShift() !== undefined) this.#dequeued++;
      this.#talking = false;
    }
    const ts = this.#ts;
    this.#ts = (ts + this.#samplesPerPacket) >>> 0;
    if (this.#dtmfRx.active) this.#dtmfRx.expire(nowMs);

    const dtmf = this.#dtmfTx;
    if (dtmf !== null && this.#te !== null) {
      const out = dtmf.tick(ts);
      if (out !== null) {
        this.#sentDtmf++;
        this.#send(this.#te.payloadType, out.marker, out.timestamp, out.payload, dueMs);
      }
      if (out !== null || dtmf.holdsAudio) {
        this.#talking = false; // the next audio packet starts a new talk spurt
        return;
      }
    }
    // Paused (a caller may be starting to talk over us): hold the queue, send nothing, keep the clock running.
    const queued = this.#sendPaused ? undefined : this.#queue.tryShift();
    if (queued !== undefined) this.#dequeued++;
    if (this.#emptyWaiters.length > 0 && this.#queue.size === 0) this.#wakeEmpty();
    const payload = queued ?? this.#idle;
    if (payload === undefined || this.#remote === null) {
      this.#talking = false;
      return;
    }
    if (!this.#talking) {
      // A talk spurt starts (marker bit): when, for the time-to-first-packet of a reply.
      this.#spurts[this.#spurtHead] = nowMs;
      this.#spurtHead = (this.#spurtHead + 1) % this.#spurts.length;
    }
    this.#send(this.#codec.payloadType, !this.#talking, ts, payload, dueMs);
    this.#talking = true;
  }

  /** When the latest talk spurts started (clock ms of their first packet), oldest first; at most 8. */
  talkSpurtStarts(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.#spurts.length; i++) {
      const t = this.#spurts[(this.#spurtHead + i) % this.#spurts.length] as number;
      if (t > 0) out.push(t);
    }
    return out;
  }

  /** Stop pacing, close the socket and give the port back. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closed = true;
    this.#reg?.close();
    this.#queue.close();
    this.#wakeEmpty();
    this.#closing = this.#socket.close().then(() => {
      this.#ports?.release(this.port);
    });
    return this.#closing;
  }

  #send(payloadType: number, marker: boolean, timestamp: number, payload: Uint8Array, dueMs: number): void {
    const remote = this.#remote;
    if (remote === null) return;
    if (this.#tx.send(remote, payloadType, marker, timestamp, payload)) {
      this.#onSendTiming?.(dueMs, this.#pacer.clock.now());
    }
  }

  #wakeEmpty(): void {
    for (const resolve of this.#emptyWaiters.splice(0)) resolve();
  }

  #emitDtmf(ev: DtmfEvent): void {
    try {
      this.#onDtmf?.(ev);
    } catch (err) {
      this.#rxErrors++;
      this.#logger?.warn({ err, port: this.port }, 'dtmf handler threw');
    }
  }

  #makeDtmfReceiver(): DtmfReceiver {
    return new DtmfReceiver({ clockRate: this.#codec.clockRate, onEvent: (ev) => this.#emitDtmf(ev) });
  }

  #makeDtmfSender(): DtmfSender | null {
    if (this.#te === null) return null;
    return new DtmfSender({
      packetMs: this.#codec.ptimeMs,
      clockRate: this.#codec.clockRate,
      ...(this.#te.updateIntervalMs !== undefined ? { updateIntervalMs: this.#te.updateIntervalMs } : {}),
      ...(this.#te.volume !== undefined ? { volume: this.#te.volume } : {}),
    });
  }
}

function samplesPerPacket(codec: RtpCodecConfig): number {
  return Math.round((codec.clockRate * codec.ptimeMs) / 1000);
}
