/**
 * How RTP sessions reach the network: an `RtpIo` binds media sockets, an `RtpUdpSocket` sends serialized RTP
 * packets and hands received datagrams to one receiver. Two implementations give the same datagrams on the wire
 * and the same datagrams to the session (test/integration/media/udp-io-equivalence.test.ts):
 *
 * - `dgram` (dgram-udp-io.ts): node:dgram, one send and one callback per packet. The reference.
 * - `native` (native-udp-io.ts): the optional addon in native/udp-batch, batched: every socket drained in one
 *   callback per event-loop turn (recvmmsg), every packet of a pacer wake-up sent in one call (sendmmsg).
 */

import type { RtpPacketInit } from './packet.ts';
import type { PortAllocator } from './port-allocator.ts';
import type { RtpRemote } from './rtp-session-options.ts';
import type { SocketBufferSizes } from './udp-bind.ts';

/**
 * One received datagram. `buf` is valid only during the call: the native path reuses its receive area for the
 * next batch, so anything kept (a payload in a jitter buffer) must be copied. `from` may be kept.
 */
export type DatagramReceiver = (buf: Uint8Array, from: RtpRemote) => void;

export interface RtpUdpSocket {
  readonly port: number;
  /** 'dgram' or 'native', for logs and tests. */
  readonly kind: RtpIoKind;
  /**
   * Serialize `pkt` and send it to `remote`: the packet's octets are taken before this returns, so `pkt.payload`
   * may be reused at once. Returns the octets handed to the network, 0 when the send failed at once (counted by
   * the caller); a failure found later is reported through `onSendError`.
   */
  sendRtp(pkt: RtpPacketInit, remote: RtpRemote): number;
  /** The receiver of every datagram, and of receive errors. Replaces the previous ones. */
  setReceiver(onDatagram: DatagramReceiver, onError: (err: Error) => void): void;
  /** Called once per send that failed after `sendRtp` returned (e.g. ICMP or a full socket buffer). */
  setSendErrorHandler(onSendError: (err: Error) => void): void;
  /** Kernel buffer sizes in force (SO_RCVBUF / SO_SNDBUF as Linux reports them, i.e. doubled). */
  bufferSizes(): { readonly recv: number; readonly send: number };
  /** Stop receiving, send what is queued, close the socket. Idempotent. */
  close(): Promise<void>;
}

export type RtpIoKind = 'dgram' | 'native';

/** Binds media sockets. One per process (the native one owns a shared epoll set and shared areas). */
export interface RtpIo {
  readonly kind: RtpIoKind;
  /**
   * Bind `port` (or one from `ports`, moving on past ports another process holds) on `address`. Rejects with
   * CallroomError CR_RTP_BIND_FAILED, or the allocator's exhaustion error.
   */
  open(address: string, ports: PortAllocator | undefined, port: number | undefined, buffers: SocketBufferSizes): Promise<RtpUdpSocket>;
  /** Release what the io holds (sockets still open stay usable until closed on the dgram path). */
  close(): void;
}
