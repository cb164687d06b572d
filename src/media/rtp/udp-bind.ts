/**
 * Bind a media UDP socket, either to a fixed port or to the next free port of an allocator. Another process
 * may hold a port the allocator believes free (it only knows its own sessions), so EADDRINUSE moves on to
 * the next port instead of failing the call.
 */

import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { CallroomError } from '../../core/errors.ts';
import type { PortAllocator } from './port-allocator.ts';

/** Ports tried per open before giving up when the allocator's ports are taken by other processes. */
const MAX_BIND_ATTEMPTS = 32;

/**
 * Kernel buffer sizes for a media socket (SO_RCVBUF / SO_SNDBUF, bytes; Linux caps them at net.core.rmem_max /
 * wmem_max and doubles them for its bookkeeping). Undefined keeps the system default.
 */
export interface SocketBufferSizes {
  readonly recvBufferSize?: number | undefined;
  readonly sendBufferSize?: number | undefined;
}

/**
 * Media destinations are IP literals (checked where they are set), so resolve them at once: node:dgram's
 * default dns.lookup answers a literal on a later tick, which is one deferred callback per packet sent.
 */
function literalLookup(address: string, family: unknown, callback: (err: Error | null, address: string, family: number) => void): void {
  const f = isIP(address);
  if (f === 0) callback(new CallroomError('CR_RTP_REMOTE_INVALID', 'RTP destination must be an IP literal'), address, 0);
  else callback(null, address, f);
}

function createMediaSocket(type: 'udp4' | 'udp6', buffers: SocketBufferSizes): dgram.Socket {
  return dgram.createSocket({
    type,
    lookup: literalLookup as unknown as NonNullable<dgram.SocketOptions['lookup']>,
    ...(buffers.recvBufferSize === undefined ? {} : { recvBufferSize: buffers.recvBufferSize }),
    ...(buffers.sendBufferSize === undefined ? {} : { sendBufferSize: buffers.sendBufferSize }),
  });
}

export interface BoundSocket {
  readonly socket: dgram.Socket;
  readonly port: number;
}

/** Bind `port` (or one from `ports`) on `address`. Rejects with CallroomError CR_RTP_BIND_FAILED, or the allocator's exhaustion error. */
export async function bindUdp(address: string, ports?: PortAllocator, port?: number, buffers: SocketBufferSizes = {}): Promise<BoundSocket> {
  const type = ipFamily(address) === 6 ? 'udp6' : 'udp4';
  return bindInRange(address, ports, port, async (p) => {
    const socket = createMediaSocket(type, buffers);
    try {
      await bindOnce(socket, address, p);
    } catch (err) {
      closeQuietly(socket);
      throw err;
    }
    return { socket, port: socket.address().port };
  });
}

/** 4 or 6 for an IP literal; throws CallroomError CR_RTP_BIND_FAILED otherwise. */
export function ipFamily(address: string): 4 | 6 {
  const family = isIP(address);
  if (family === 0) throw new CallroomError('CR_RTP_BIND_FAILED', 'bind address must be an IP literal');
  return family as 4 | 6;
}

/**
 * The port policy of every media socket, whatever binds it: exactly `port` (0: any) when there is no allocator,
 * else the allocator's next ports, moving on past EADDRINUSE (another process holds it) up to MAX_BIND_ATTEMPTS.
 * `attempt` binds one port, rejecting with the system error (its `code`) when it cannot.
 */
export async function bindInRange<T extends { readonly port: number }>(
  address: string,
  ports: PortAllocator | undefined,
  port: number | undefined,
  attempt: (port: number) => Promise<T>,
): Promise<T> {
  ipFamily(address);
  if (ports === undefined) {
    try {
      return await attempt(port ?? 0);
    } catch (err) {
      throw new CallroomError('CR_RTP_BIND_FAILED', `cannot bind RTP socket on ${address}:${port ?? 0}`, { cause: err });
    }
  }
  let lastErr: unknown;
  for (let i = 0; i < MAX_BIND_ATTEMPTS; i++) {
    const p = ports.allocate();
    try {
      return await attempt(p);
    } catch (err) {
      lastErr = err;
      ports.release(p);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
    }
  }
  throw new CallroomError('CR_RTP_BIND_FAILED', `cannot bind an RTP port on ${address}`, {
    cause: lastErr,
    retryable: true,
  });
}

function bindOnce(socket: dgram.Socket, address: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

/** Close a socket and wait for it; safe on an already closed socket. */
export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close();
  } catch {
    // a socket whose bind failed may already be closed
  }
}
