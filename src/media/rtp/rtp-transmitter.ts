/**
 * The send side of an RtpSession: one sequence space for audio and telephone-events, a reused header so the
 * 20 ms path allocates nothing, and the sent/error counters. Pacing, payload choice and the marker rule stay with
 * the session; the socket (udp-io.ts: node:dgram or the native batch) serializes and sends.
 */

import type { Logger } from '../../core/logger.ts';
import type { RtpRemote } from './rtp-session-options.ts';
import type { RtpUdpSocket } from './udp-io.ts';

const EMPTY: Uint8Array = new Uint8Array(0);

interface MutableHeader {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export interface RtpTransmitterOptions {
  readonly socket: RtpUdpSocket;
  readonly ssrc: number;
  readonly initialSequence: number;
  /** For log context only. */
  readonly port: number;
  readonly logger?: Logger | undefined;
}

/** Serializes and sends RTP packets on one socket, counting what went out and what failed. */
export class RtpTransmitter {
  readonly #socket: RtpUdpSocket;
  readonly #port: number;
  readonly #logger: Logger | undefined;
  // Mutable header fields reused for every packet sent.
  readonly #hdr: MutableHeader = { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: EMPTY };
  #seq: number;
  /** Packets handed to the socket. */
  packets = 0;
  /** Octets of those packets, RTP header included. */
  bytes = 0;
  /** Sends that threw or completed with an error. */
  errors = 0;

  constructor(opts: RtpTransmitterOptions) {
    this.#socket = opts.socket;
    this.#port = opts.port;
    this.#logger = opts.logger;
    this.#hdr.ssrc = opts.ssrc >>> 0;
    this.#seq = opts.initialSequence & 0xffff;
    this.#socket.setSendErrorHandler(this.#onSendError);
  }

  /** Sequence number of the next packet. */
  get sequence(): number {
    return this.#seq;
  }

  /**
   * Send one packet to `remote`. The sequence number advances only when the socket took it. Returns false when
   * the send threw (counted and logged, never rethrown: this runs on the pacer's tick).
   */
  send(remote: RtpRemote, payloadType: number, marker: boolean, timestamp: number, payload: Uint8Array): boolean {
    const h = this.#hdr;
    h.payloadType = payloadType;
    h.marker = marker;
    h.sequenceNumber = this.#seq;
    h.timestamp = timestamp;
    h.payload = payload;
    let octets: number;
    try {
      octets = this.#socket.sendRtp(h, remote);
    } catch (err) {
      this.errors++;
      this.#logger?.warn({ err, port: this.#port }, 'rtp send failed');
      return false;
    } finally {
      h.payload = EMPTY; // do not keep the caller's payload alive
    }
    this.#seq = (this.#seq + 1) & 0xffff;
    this.packets++;
    this.bytes += octets;
    return true;
  }

  #onSendError = (err: Error): void => {
    this.errors++;
    this.#logger?.debug({ err, port: this.#port }, 'rtp send error');
  };
}
