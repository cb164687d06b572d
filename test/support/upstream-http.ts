import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake upstream received it. */
export interface Seen {
  method: string;
  rawUrl: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Reply = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback HTTP server standing in for the API an HTTP tool calls; each test starts and stops its own. */
export class Upstream {
  readonly seen: Seen[] = [];
  reply: Reply = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"order":"o-1"}');
  };
  readonly #server: Server;
  port = 0;
  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.seen.push({ method: req.method ?? '', rawUrl: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        this.reply(req, res);
      });
    });
  }
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
