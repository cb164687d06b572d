import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../../config/schema.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import { ClientSocket } from '../ws/client-socket.ts';
import { ApiKeys } from './api-keys.ts';
import type { BridgeCalls } from './bridge-calls.ts';
import type { PlayoutSettings } from './bridge-leg.ts';
import { dialectOfSubprotocol } from './detect-dialect.ts';
import type { TelephonyDialect, WsDialect } from './dialect.ts';
import { refuseUpgrade } from './http-refusal.ts';
import { SourceFilter } from './source-filter.ts';
import { WsBridgeConnection } from './ws-bridge-connection.ts';

export type TelephonySettings = Config['telephony'];

interface Endpoint {
  readonly path: string;
  readonly dialect: TelephonyDialect | 'auto';
  readonly agent: string | undefined;
  readonly keys: ApiKeys;
  readonly sources: SourceFilter;
  readonly outputSampleRate: number | undefined;
}

export interface WsBridgesOptions {
  readonly server: Server;
  readonly settings: TelephonySettings;
  readonly calls: BridgeCalls;
  readonly dialects: ReadonlyMap<TelephonyDialect, WsDialect>;
  readonly pacer: Pacer;
  readonly logger: Logger;
}

export interface WsBridges {
  /** Connections not yet in a call (detecting, waiting for their start). */
  readonly pending: number;
  /** Stop accepting and drop connections that have not started a call (calls are ended by `BridgeCalls`). */
  close(): Promise<void>;
  /** After the calls ended: wait up to `ms` for their connections to finish closing, then drop the rest. */
  settle(ms: number): Promise<void>;
}

/**
 * The telephony WebSocket endpoints on the HTTP server's upgrade event (ws in noServer mode, like the
 * WebSocket medium): each configured path serves one dialect or `auto`. Before the upgrade, the source
 * address is checked (403) and a key presented with the request is verified (401 when wrong; see
 * `tokenOf`); none at all leaves the key to the platform's custom parameter, checked when its start
 * message arrives, before any call exists (the connection is closed with 1008 when it is missing or wrong). Paths that are not ours are left to other upgrade listeners (404 when we are the only one).
 */
export function attachWsBridges(o: WsBridgesOptions): WsBridges {
  const s = o.settings;
  const endpoints = new Map<string, Endpoint>();
  for (const e of s.endpoints) {
    endpoints.set(e.path, {
      path: e.path,
      dialect: e.dialect,
      agent: e.agent,
      keys: new ApiKeys(e.apiKeys),
      sources: new SourceFilter(e.allowFrom, `telephony.endpoints[${e.path}].allowFrom`),
      outputSampleRate: e.outputSampleRate,
    });
  }
  const playout: PlayoutSettings = s.playout;
  const connections = new Set<WsBridgeConnection>();
  /** Every accepted socket until it has closed (calls included). */
  const sockets = new Set<ClientSocket>();
  const upgrading = new Set<Duplex>();
  let closing = false;

  const subprotocolsOf = (ep: Endpoint): readonly string[] => {
    if (ep.dialect !== 'auto') return o.dialects.get(ep.dialect)?.subprotocols ?? [];
    return [...o.dialects.values()].flatMap((d) => d.subprotocols);
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: s.maxMessageBytes,
    perMessageDeflate: false,
    skipUTF8Validation: true,
    clientTracking: false,
    handleProtocols: (offered: Set<string>, req: IncomingMessage) => {
      const ep = endpoints.get(pathOf(req.url));
      if (ep === undefined) return false;
      const ours = subprotocolsOf(ep);
      for (const p of offered) if (ours.includes(p)) return p;
      return false;
    },
  });

  const accept = (ws: WebSocket, ep: Endpoint, keyVerified: boolean, remote: string | undefined): void => {
    const logger = o.logger.child({ path: ep.path, remote });
    const socket = new ClientSocket(ws, { rawText: true, maxMessagesPerSecond: s.maxMessagesPerSecond, pingIntervalMs: s.pingIntervalMs, logger });
    sockets.add(socket);
    void socket.whenClosed.then(() => sockets.delete(socket));
    const subprotocol = ws.protocol;
    const dialect = ep.dialect !== 'auto' ? ep.dialect : dialectOfSubprotocol(subprotocol);
    const conn = new WsBridgeConnection({
      socket,
      subprotocol,
      dialects: o.dialects,
      dialect,
      keys: keyVerified ? undefined : ep.keys,
      agent: ep.agent,
      settings: { outputSampleRate: ep.outputSampleRate },
      startTimeoutMs: s.startTimeoutMs,
      calls: o.calls,
      pacer: o.pacer,
      playout,
      logger,
      onDone: () => connections.delete(conn),
    });
    connections.add(conn);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = pathOf(req.url);
    const ep = endpoints.get(path);
    if (ep === undefined) {
      if (o.server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'CR_WS_NOT_FOUND', 'not found');
      return;
    }
    socket.on('error', () => undefined);
    const remote = req.socket.remoteAddress;
    if (closing || o.calls.closing) return refuseUpgrade(socket, 503, 'CR_CALL_DRAINING', 'the gateway is shutting down');
    if (!ep.sources.allows(remote)) {
      o.logger.warn({ path, remote }, 'telephony connection refused: source address not allowed');
      return refuseUpgrade(socket, 403, 'CR_TELEPHONY_SOURCE', 'this address may not connect');
    }
    let keyVerified = ep.keys.empty;
    const token = tokenOf(req);
    if (!ep.keys.empty && token !== undefined) {
      if (!ep.keys.accepts(token)) {
        o.logger.warn({ path, remote }, 'telephony connection refused: invalid token');
        return refuseUpgrade(socket, 401, 'CR_TELEPHONY_KEY', 'invalid token');
      }
      keyVerified = true;
    }
    upgrading.add(socket);
    socket.once('close', () => upgrading.delete(socket));
    try {
      wss.handleUpgrade(req, socket, head, (ws) => {
        upgrading.delete(socket);
        if (closing) {
          ws.terminate();
          return;
        }
        accept(ws, ep, keyVerified, remote);
      });
    } catch (err) {
      o.logger.warn({ err: errorMessage(err) }, 'telephony upgrade failed');
      refuseUpgrade(socket, 400, 'CR_WS_BAD_UPGRADE', 'bad upgrade request');
    }
  };
  o.server.on('upgrade', onUpgrade);

  return {
    get pending() {
      return [...connections].filter((c) => !c.started).length;
    },
    async close() {
      if (closing) return;
      closing = true;
      o.server.off('upgrade', onUpgrade);
      for (const sock of upgrading) sock.destroy();
      upgrading.clear();
      for (const c of [...connections]) c.abandon();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    async settle(ms) {
      const open = [...sockets];
      if (open.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(open.map((c) => c.whenClosed)), new Promise((r) => (timer = setTimeout(r, ms)))]);
      clearTimeout(timer);
      for (const c of sockets) c.terminate('server-closed', 'gateway shutting down');
    },
  };
}

function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://callroom.invalid');
  } catch {
    return undefined;
  }
}

function pathOf(raw: string | undefined): string {
  return parseUrl(raw)?.pathname ?? '';
}

/**
 * A key presented with the upgrade request: the URL's `token`, an `Authorization: Bearer` header, Genesys'
 * `X-API-KEY`, or Telnyx' `x-telnyx-streaming-auth-token`.
 */
function tokenOf(req: IncomingMessage): string | undefined {
  const t = parseUrl(req.url)?.searchParams.get('token');
  if (t !== null && t !== undefined && t !== '') return t;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+\S/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  for (const name of ['x-api-key', 'x-telnyx-streaming-auth-token']) {
    const v = req.headers[name];
    if (typeof v === 'string' && v !== '') return v;
  }
  return undefined;
}
