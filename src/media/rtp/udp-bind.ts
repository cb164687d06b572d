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

export interface BoundSocket {
  readonly socket: dgram.Socket;
  readonly port: number;
}

/** Bind `port` (or one from `ports`) on `address`. Rejects with CallroomError CR_RTP_BIND_FAILED, or the allocator's exhaustion error. */
export async function bindUdp(address: string, ports?: PortAllocator, port?: number): Promise<BoundSocket> {
  const family = isIP(address);
  if (family === 0) throw new CallroomError('CR_RTP_BIND_FAILED', 'bind address must be an IP literal');
  const type = family === 6 ? 'udp6' : 'udp4';
  if (ports === undefined) {
    const socket = dgram.createSocket({ type });
    try {
      await bindOnce(socket, address, port ?? 0);
    } catch (err) {
      closeQuietly(socket);
      throw new CallroomError('CR_RTP_BIND_FAILED', `cannot bind RTP socket on ${address}:${port ?? 0}`, { cause: err });
    }
    return { socket, port: socket.address().port };
  }
  let lastErr: unknown;
  for (let attempt = 0; attempt < MAX_BIND_ATTEMPTS; attempt++) {
    const p = ports.allocate();
    const socket = dgram.createSocket({ type });
    try {
      await bindOnce(socket, address, p);
      return { socket, port: p };
    } catch (err) {
      lastErr = err;
      closeQuietly(socket);
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
