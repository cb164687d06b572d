import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { familyOf, ipFamily } from './ip-address.ts';
import type { SocketAddress } from './transport.ts';

/**
 * Kernel buffer sizes of a UDP socket (SO_RCVBUF / SO_SNDBUF), bytes. Linux caps a request at net.core.rmem_max
 * (wmem_max) and reports twice the size granted (its bookkeeping overhead).
 */
export interface UdpBufferSizes {
  readonly recvBufferSize?: number | undefined;
  readonly sendBufferSize?: number | undefined;
}

/** Called for every datagram; the listener catches anything it throws. */
export type DatagramHandler = (data: Buffer, remote: SocketAddress, listener: UdpListener) => void;

/**
 * One bound UDP socket (RFC 3261 §18: one datagram carries one message). Responses to a request
 * leave from the socket it arrived on (RFC 3581 §4: symmetric response routing).
 */
export class UdpListener {
  readonly #socket: Socket;
  readonly #address: SocketAddress;
  #closed = false;

  private constructor(socket: Socket, address: SocketAddress) {
    this.#socket = socket;
    this.#address = address;
  }

  /**
   * Binds `host:port` (port 0 picks one). IPv6 sockets are IPv6-only so a source address is never
   * an IPv4-mapped one. `onError` gets socket errors after binding (the socket stays open).
   */
  static open(
    host: string,
    port: number,
    onDatagram: DatagramHandler,
    onError: (err: Error) => void,
    buffers: UdpBufferSizes = {},
  ): Promise<UdpListener> {
    const family = ipFamily(host);
    if (family === undefined) return Promise.reject(new Error(`UDP listen address must be an IP literal: ${host}`));
    const socket = createSocket({
      type: family === 'IPv6' ? 'udp6' : 'udp4',
      ipv6Only: family === 'IPv6',
      ...(buffers.recvBufferSize === undefined ? {} : { recvBufferSize: buffers.recvBufferSize }),
      ...(buffers.sendBufferSize === undefined ? {} : { sendBufferSize: buffers.sendBufferSize }),
    });
    return new Promise((resolve, reject) => {
      const onBindError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onBindError);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', onBindError);
        const a = socket.address();
        const listener = new UdpListener(socket, { address: a.address, port: a.port, family: familyOf(a.family) });
        socket.on('error', onError);
        socket.on('message', (data: Buffer, rinfo: RemoteInfo) => {
          try {
            onDatagram(data, { address: rinfo.address, port: rinfo.port, family: familyOf(rinfo.family) }, listener);
          } catch (err) {
            onError(err instanceof Error ? err : new Error(String(err)));
          }
        });
        resolve(listener);
      });
    });
  }

  /** Bound address (the real port when opened with 0). */
  get address(): SocketAddress {
    return this.#address;
  }

  /** The receive and send buffer sizes the kernel granted (Linux reports twice the usable size). */
  get bufferSizes(): { readonly recv: number; readonly send: number } {
    try {
      return { recv: this.#socket.getRecvBufferSize(), send: this.#socket.getSendBufferSize() };
    } catch {
      return { recv: 0, send: 0 }; // closed
    }
  }

  /** Sends one datagram; resolves with the error instead of rejecting. */
  send(data: Uint8Array, address: string, port: number): Promise<Error | undefined> {
    if (this.#closed) return Promise.resolve(new Error('UDP socket closed'));
    return new Promise((resolve) => {
      try {
        this.#socket.send(data, port, address, (err) => resolve(err ?? undefined));
      } catch (err) {
        // send() throws synchronously for an invalid port or a closed socket.
        resolve(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
