import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The last `upgrade` listener on a server several WebSocket endpoints share: a path none of them serves is
 * refused with 404 rather than left hanging (each endpoint ignores paths that are not its own).
 */
export function refuseUnknownUpgrades(server: Server, served: (path: string) => boolean): void {
  server.on('upgrade', (req, socket: Duplex) => {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      path = '';
    }
    if (served(path) || socket.destroyed) return;
    const body = JSON.stringify({ code: 'CR_WS_NOT_FOUND', message: 'not found' });
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
}
