/**
 * A real Callroom HTTP server on 127.0.0.1 with the WebSocket medium attached (and the browser client page
 * served), for tests and the bench: tokens are real single-use HMAC tokens with an in-memory used-id store,
 * and the call layer is whatever the test injects (`joinCall`, `control`).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { startHttpServer, type HttpApp } from '../../src/api/http-server.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import { JoinTokens, type JtiStore } from '../../src/core/join-token.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import type { Pacer } from '../../src/media/rtp/pacer.ts';
import { registerBrowserClient } from '../../src/transports/ws/browser-client.ts';
import { controlTokenSecret, controlUrl } from '../../src/transports/ws/control-tokens.ts';
import {
  attachWebSocketEndpoints,
  type AttachControl,
  type HangupCall,
  type JoinCall,
  type WebSocketEndpoints,
  type WebSocketSettings,
  type WsAudioFormat,
} from '../../src/transports/ws/ws-endpoints.ts';

/** Used token ids in memory (the storage layer's store does this in the database). */
export function memoryJtiStore(): JtiStore & { readonly size: number } {
  const used = new Set<string>();
  return {
    async consume(jti) {
      if (used.has(jti)) return false;
      used.add(jti);
      return true;
    },
    get size() {
      return used.size;
    },
  };
}

export interface WsHarnessOptions {
  readonly joinCall: JoinCall;
  readonly control?: { readonly attachControl: AttachControl; readonly hangupCall: HangupCall };
  readonly settings?: Partial<WebSocketSettings>;
  readonly callFormat?: (callId: string) => WsAudioFormat | undefined;
  /** Wall clock for token expiry (Unix ms). */
  readonly now?: () => number;
  readonly pacer?: Pacer;
  readonly logger?: Logger;
  /** Token secret (default random): a separate process can then issue tokens this server accepts. */
  readonly secret?: Uint8Array;
}

export interface WsHarness {
  readonly app: HttpApp;
  readonly port: number;
  /** http://127.0.0.1:port */
  readonly httpBase: string;
  readonly joinTokens: JoinTokens;
  readonly controlTokens: JoinTokens;
  readonly endpoints: WebSocketEndpoints;
  readonly settings: WebSocketSettings;
  /** A fresh joinUrl for `callId` (query parameters added as given). */
  joinUrl(callId: string, query?: Record<string, string | number>): string;
  /** A fresh control socket URL for `callId`. */
  controlUrl(callId: string): string;
  close(): Promise<void>;
}

export async function startWsHarness(options: WsHarnessOptions): Promise<WsHarness> {
  const secret = options.secret ?? randomBytes(32);
  const store = memoryJtiStore();
  const now = options.now ?? Date.now;
  const joinTokens = new JoinTokens({ secret, ttlSeconds: 60, store, now });
  const controlTokens = new JoinTokens({ secret: controlTokenSecret(secret), ttlSeconds: 60, store, now });
  const settings: WebSocketSettings = { ...validateConfig({}).websocket, ...options.settings };
  let endpoints: WebSocketEndpoints | undefined;
  const logger = options.logger ?? silentLogger();
  const app = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    metrics: new Registry(),
    ready: () => true,
    version: 'test',
    onServer: (a) => {
      registerBrowserClient(a);
      endpoints = attachWebSocketEndpoints(a.server, {
        settings,
        joinTokens,
        joinCall: options.joinCall,
        ...(options.callFormat === undefined ? {} : { callFormat: options.callFormat }),
        ...(options.control === undefined ? {} : { control: { tokens: controlTokens, ...options.control } }),
        ...(options.pacer === undefined ? {} : { pacer: options.pacer }),
        logger,
      });
    },
  });
  const port = (app.server.address() as AddressInfo).port;
  const httpBase = `http://127.0.0.1:${port}`;
  const ep = endpoints as unknown as WebSocketEndpoints;
  return {
    app,
    port,
    httpBase,
    joinTokens,
    controlTokens,
    endpoints: ep,
    settings,
    joinUrl(callId, query = {}) {
      const url = new URL('/ws/join', `ws://127.0.0.1:${port}`);
      url.searchParams.set('token', joinTokens.issue(callId).token);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
      return url.toString();
    },
    controlUrl(callId) {
      return controlUrl(httpBase, controlTokens.issue(callId).token, callId);
    },
    async close() {
      await ep.close();
      await app.close();
    },
  };
}
