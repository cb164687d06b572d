/**
 * The WebSocket medium while the gateway drains: a join is refused 503 before its token is looked at (so the
 * client can use it on another node), while a join before the drain went through.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../../../src/core/logger.ts';
import { attachWebSocketEndpoints, type WebSocketEndpoints } from '../../../src/transports/ws/ws-endpoints.ts';
import { configSchema } from '../../../src/config/schema.ts';

let server: Server | undefined;
let endpoints: WebSocketEndpoints | undefined;

afterEach(async () => {
  await endpoints?.close();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
  endpoints = undefined;
});

function connect(port: number, token: string): Promise<{ status: number; body: string } | 'open'> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/join?token=${token}`);
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', (err) => reject(err));
  });
}

describe('WebSocket joins while draining', () => {
  it('refuses joins 503 without using their token once drain() is called', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const verified: string[] = [];
    const joined: string[] = [];
    endpoints = attachWebSocketEndpoints(server, {
      settings: configSchema.parse({}).websocket,
      joinTokens: {
        verify: async (token) => {
          verified.push(String(token));
          return { callId: `call-${String(token)}`, exp: Math.floor(Date.now() / 1000) + 60, jti: String(token) };
        },
      },
      joinCall: async (callId, leg) => {
        joined.push(callId);
        await leg.hangup();
      },
      logger: silentLogger(),
    });
    expect(await connect(port, 'before')).toBe('open');
    endpoints.drain();
    const refused = await connect(port, 'after');
    expect(refused).toMatchObject({ status: 503 });
    expect(JSON.parse((refused as { body: string }).body)).toMatchObject({ code: 'CR_CALL_DRAINING' });
    expect(verified).toEqual(['before']);
    expect(joined).toEqual(['call-before']);
  });
});
