/**
 * Configuration, callbacks and statistics of an RtpSession (see rtp-session.ts), in their own file so the SIP
 * layer can import the shapes it fills from SDP without the session implementation, and their validation.
 */

import { isIP } from 'node:net';
import type { OverflowPolicy } from '../../core/bounded-channel.ts';
import { CallroomError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { DtmfEvent } from './dtmf-4733.ts';
import type { RtpPacket } from './packet.ts';
import type { Pacer } from './pacer.ts';
import type { PortAllocator } from './port-allocator.ts';
import type { SocketBufferSizes } from './udp-bind.ts';
import type { RtpIo } from './udp-io.ts';

/** The negotiated audio codec as RTP sees it. */
export interface RtpCodecConfig {
  readonly payloadType: number;
  /** RTP clock rate (8000 for PCMU/PCMA, also for G.722 by RFC 3551's historical quirk). */
  readonly clockRate: number;
  /** Packetization time, ms per packet. */
  readonly ptimeMs: number;
}

/** RFC 4733 telephone-event settings. */
export interface TelephoneEventConfig {
  readonly payloadType: number;
  /** Update packet interval while a digit is sent. Default 50 ms. */
  readonly updateIntervalMs?: number;
  /** -dBm0, default 10. */
  readonly volume?: number;
}

export interface RtpRemote {
  readonly address: string;
  readonly port: number;
}

/** Synchronous receive-side callbacks (called from the socket's message handler, no Promise per packet). */
export interface RtpSessionHandlers {
  /**
   * An RTP packet other than telephone-event. `pkt.payload` is a view into the received datagram, valid only
   * during the call: the native io reuses its receive area for the next batch, so copy what you keep.
   */
  readonly onPacket?: (pkt: RtpPacket, from: RtpRemote) => void;
  /** DTMF key press start and end (RFC 4733), exactly once each. */
  readonly onDtmf?: (ev: DtmfEvent) => void;
  /** The session now sends to a new peer address (symmetric RTP). */
  readonly onLatch?: (remote: RtpRemote) => void;
}

export interface RtpSessionOptions extends RtpSessionHandlers {
  readonly pacer: Pacer;
  /** Local address to bind. Default '0.0.0.0'. */
  readonly bindAddress?: string;
  /** Take the port from this allocator (retrying ports another process holds)… */
  readonly ports?: PortAllocator;
  /** …or bind exactly this port (0: any, for tests). */
  readonly port?: number;
  /** How the socket reaches the network (udp-io.ts): node:dgram when absent. */
  readonly io?: RtpIo;
  /** SO_RCVBUF / SO_SNDBUF of the socket; system defaults when absent. */
  readonly socketBuffers?: SocketBufferSizes;
  readonly codec: RtpCodecConfig;
  /** Default payload type 101. null disables DTMF. */
  readonly telephoneEvent?: TelephoneEventConfig | null;
  readonly remote?: RtpRemote;
  /** Random by default (RFC 3550 §5.1). */
  readonly ssrc?: number;
  readonly initialSequence?: number;
  readonly initialTimestamp?: number;
  /** Outbound payload queue: capacity in packets (default 50 = 1 s at 20 ms) and what a full queue does. */
  readonly queueCapacity?: number;
  readonly queuePolicy?: OverflowPolicy;
  /** Sent in slots with nothing queued (e.g. one ptime of encoded silence). Default: send nothing. */
  readonly idlePayload?: Uint8Array;
  /**
   * Latch to the source address of received RTP (RFC 4961). Default true. The first source of valid RTP after
   * open or `setRemote` is latched; RTP from any other source is then refused (`stats().ignored.foreignSource`)
   * until the latched one has been silent for `relatchAfterMs`. When false, every source is heard and the
   * destination only changes by `setRemote`.
   */
  readonly symmetric?: boolean;
  /** Silence of the latched source after which another source may take over, ms. Default 1000; Infinity: never. */
  readonly relatchAfterMs?: number;
  readonly logger?: Logger;
  /**
   * Do not register with the pacer: the owner calls `onPace` once per slot of its own registration (the RTP
   * audio leg does, so the audio it plays out in a slot, echoed or not, goes out in that same slot instead of
   * waiting for a second schedule). The owner also follows ptime changes.
   */
  readonly pacedByOwner?: boolean;
  /** Instrumentation: scheduled and actual time of every packet sent, pacer clock ms. */
  readonly onSendTiming?: (dueMs: number, actualMs: number) => void;
}

export interface RtpSessionStats {
  readonly sent: { readonly packets: number; readonly bytes: number; readonly dtmfPackets: number };
  readonly received: {
    readonly packets: number;
    readonly bytes: number;
    readonly lost: number;
    readonly jitterMs: number;
    readonly ssrc: number | undefined;
  };
  /**
   * Datagrams not processed: STUN, RTCP (no RTCP processing yet), DTLS, garbage or invalid RTP, and valid RTP
   * refused because it came from another source than the latched one (symmetric RTP).
   */
  readonly ignored: {
    readonly stun: number;
    readonly rtcp: number;
    readonly dtls: number;
    readonly invalid: number;
    readonly foreignSource: number;
  };
  readonly latches: number;
  readonly queue: { readonly size: number; readonly dropped: number };
  /** Slots skipped because the process stalled (timestamp advanced, nothing sent). */
  readonly skippedSlots: number;
  readonly errors: { readonly receive: number; readonly send: number };
}

/** Throws CallroomError CR_RTP_CODEC_INVALID for settings RTP cannot carry. */
export function validateCodec(c: RtpCodecConfig): void {
  const ok =
    Number.isInteger(c.payloadType) &&
    c.payloadType >= 0 &&
    c.payloadType <= 127 &&
    Number.isInteger(c.clockRate) &&
    c.clockRate > 0 &&
    c.ptimeMs > 0 &&
    c.ptimeMs <= 200;
  if (!ok) throw new CallroomError('CR_RTP_CODEC_INVALID', 'invalid RTP codec settings');
}

/** Throws CallroomError CR_RTP_REMOTE_INVALID unless `r` is an IP literal and a usable port. */
export function validateRemote(r: RtpRemote): void {
  if (isIP(r.address) === 0 || !Number.isInteger(r.port) || r.port < 1 || r.port > 65535) {
    throw new CallroomError('CR_RTP_REMOTE_INVALID', 'remote RTP address must be an IP literal and a port 1..65535');
  }
}
