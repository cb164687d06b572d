/**
 * The send side of an RtpSession: one sequence space for audio and telephone-events, a reused header and
 * reusable send buffers so the 20 ms path allocates nothing, and the sent/error counters. Pacing, payload
 * choice and the marker rule stay with the session; this only puts one packet on the wire.
 */

import type dgram from 'node:dgram';
import type { Logger } from '../../core/logger.ts';
import { serializeRtp, RTP_HEADER_SIZE } from './packet.ts';
import type { RtpRemote } from './rtp-session-options.ts';
import { TxBuffers } from './tx-buffers.ts';

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
  readonly socket: dgram.Socket;
  readonly ssrc: number;
  readonly initialSequence: number;
  /** For log context only. */
  readonly port: number;
  readonly logger?: Logger | undefined;
}

/** Serializes and sends RTP packets on one socket, counting what went out and what failed. */
export class RtpTransmitter {
  readonly #socket: dgram.Socket;
  readonly #port: number;
  readonly #logger: Logger | undefined;
  readonly #tx = new TxBuffers();
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
    const buf = this.#tx.acquire(RTP_HEADER_SIZE + payload.length);
    const pkt = serializeRtp(h, buf);
    h.payload = EMPTY; // do not keep the caller's payload alive
    try {
      // The (msg, port, address, cb) form: the (msg, offset, length, ...) one allocates a view of `pkt` per send.
      this.#socket.send(pkt, remote.port, remote.address, this.#onSent);
      this.#tx.issued();
    } catch (err) {
      this.errors++;
      this.#logger?.warn({ err, port: this.#port }, 'rtp send failed');
      return false;
    }
    this.#seq = (this.#seq + 1) & 0xffff;
    this.packets++;
    this.bytes += pkt.length;
    return true;
  }

  #onSent = (err: Error | null): void => {
    this.#tx.completed();
    if (err) {
      this.errors++;
      this.#logger?.debug({ err, port: this.#port }, 'rtp send error');
    }
  };
}
