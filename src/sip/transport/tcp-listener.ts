import { createServer, type Server, type Socket } from 'node:net';
import { familyOf, ipFamily } from './ip-address.ts';
import type { SocketAddress } from './transport.ts';

/** A bound TCP server socket; accepted connections go to `onSocket` (the connection pool). */
export class TcpListener {
  readonly #server: Server;
  readonly #address: SocketAddress;
  #closed = false;

  private constructor(server: Server, address: SocketAddress) {
    this.#server = server;
    this.#address = address;
  }

  /** Listens on `host:port` (port 0 picks one); IPv6 listeners are IPv6-only. */
  static open(host: string, port: number, onSocket: (socket: Socket) => void, onError: (err: Error) => void): Promise<TcpListener> {
    const family = ipFamily(host);
    if (family === undefined) return Promise.reject(new Error(`TCP listen address must be an IP literal: ${host}`));
    const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
      try {
        onSocket(socket);
      } catch (err) {
        socket.destroy();
        onError(err instanceof Error ? err : new Error(String(err)));
      }
    });
    return new Promise((resolve, reject) => {
      const onListenError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onListenError);
      server.listen({ host, port, ipv6Only: family === 'IPv6', exclusive: true }, () => {
        server.off('error', onListenError);
        server.on('error', onError);
        const a = server.address();
        if (a === null || typeof a === 'string') {
          server.close();
          reject(new Error('TCP listener has no address'));
          return;
        }
        resolve(new TcpListener(server, { address: a.address, port: a.port, family: familyOf(a.family) }));
      });
    });
  }

  get address(): SocketAddress {
    return this.#address;
  }

  /** Stops accepting; resolves once the server socket is closed (connections belong to the pool). */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
