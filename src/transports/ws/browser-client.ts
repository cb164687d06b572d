import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../core/logger.ts';

const BROWSER_DIR = fileURLToPath(new URL('./browser/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Nothing is fetched from anywhere else (air-gapped sites): scripts, styles and the worklet come from this
 * server; the page talks only to the WebSocket it is given.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export interface BrowserClientOptions {
  /** Where the page is served (default `/client`). */
  readonly path?: string;
}

/**
 * Serve the browser client (src/transports/ws/browser/: plain ES modules and an AudioWorklet, no build
 * step, no CDN) at `/client/`. The page joins a call with a `joinUrl` (pasted, or `?joinUrl=` in its URL):
 * microphone at 16 kHz to the WebSocket, the agent's audio through a jitter buffer, live transcript, state,
 * and client-tool invocations with a form to answer them.
 */
export function registerBrowserClient(app: FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>, options: BrowserClientOptions = {}): void {
  const base = (options.path ?? '/client').replace(/\/+$/, '');
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(BROWSER_DIR)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) files.set(name, { body: readFileSync(join(BROWSER_DIR, name)), type });
  }
  app.get(base, async (_req, reply) => reply.redirect(`${base}/`));
  app.get(`${base}/`, async (_req, reply) => send(reply, files.get('index.html')));
  app.get<{ Params: { file: string } }>(`${base}/:file`, async (req, reply) => send(reply, files.get(req.params.file)));
}

function send(
  reply: { code(n: number): unknown; headers(h: Record<string, string>): unknown; type(t: string): unknown; send(b: unknown): unknown },
  file: { body: Buffer; type: string } | undefined,
): unknown {
  if (file === undefined) {
    reply.code(404);
    return reply.send({ code: 'CR_NOT_FOUND', message: 'not found' });
  }
  reply.headers(SECURITY_HEADERS);
  reply.type(file.type);
  return reply.send(file.body);
}
