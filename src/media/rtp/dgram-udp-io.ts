/**
 * RTP over node:dgram: one socket per call, one send (and completion callback) and one message callback per
 * packet. The reference path: the native one (native-udp-io.ts) must put the same octets on the wire and hand the
 * same datagrams to the session.
 */

import type dgram from 'node:dgram';
import { serializeRtp, rtpSize, type RtpPacketInit } from './packet.ts';
import type { PortAllocator } from './port-allocator.ts';
import type { RtpRemote } from './rtp-session-options.ts';
import { TxBuffers } from './tx-buffers.ts';
import { bindUdp, closeUdp, type SocketBufferSizes } from './udp-bind.ts';
import type { DatagramReceiver, RtpIo, RtpUdpSocket } from './udp-io.ts';

const ignore = (): void => {};

/** One node:dgram media socket as an RtpUdpSocket. */
export class DgramRtpSocket implements RtpUdpSocket {
  readonly kind = 'dgram' as const;
  readonly port: number;
  readonly #socket: dgram.Socket;
  readonly #tx = new TxBuffers();
  #onDatagram: DatagramReceiver = ignore;
  #onError: (err: Error) => void = ignore;
  #onSendError: (err: Error) => void = ignore;
  #closing: Promise<void> | null = null;

  /** Wrap a bound socket (or, in tests, anything with dgram's `send(msg, port, address, cb)`). */
  constructor(socket: dgram.Socket, port: number) {
    this.#socket = socket;
    this.port = port;
    if (typeof socket.on === 'function') {
      socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
      socket.on('error', (err) => this.#onError(err));
    }
  }

  sendRtp(pkt: RtpPacketInit, remote: RtpRemote): number {
    const out = serializeRtp(pkt, this.#tx.acquire(rtpSize(pkt)));
    // The (msg, port, address, cb) form: the (msg, offset, length, ...) one allocates a view of `out` per send.
    this.#socket.send(out, remote.port, remote.address, this.#onSent);
    this.#tx.issued();
    return out.length;
  }

  setReceiver(onDatagram: DatagramReceiver, onError: (err: Error) => void): void {
    this.#onDatagram = onDatagram;
    this.#onError = onError;
  }

  setSendErrorHandler(onSendError: (err: Error) => void): void {
    this.#onSendError = onSendError;
  }

  bufferSizes(): { recv: number; send: number } {
    return { recv: this.#socket.getRecvBufferSize(), send: this.#socket.getSendBufferSize() };
  }

  close(): Promise<void> {
    this.#closing ??= closeUdp(this.#socket);
    return this.#closing;
  }

  #onSent = (err: Error | null): void => {
    this.#tx.completed();
    if (err) this.#onSendError(err);
  };
}

/** The node:dgram RtpIo: each `open` binds its own dgram socket. */
export class DgramRtpIo implements RtpIo {
  readonly kind = 'dgram' as const;

  async open(address: string, ports: PortAllocator | undefined, port: number | undefined, buffers: SocketBufferSizes): Promise<RtpUdpSocket> {
    const bound = await bindUdp(address, ports, port, buffers);
    return new DgramRtpSocket(bound.socket, bound.port);
  }

  close(): void {}
}

/** The process-wide default when a session is given no io. */
export const dgramRtpIo: RtpIo = new DgramRtpIo();
