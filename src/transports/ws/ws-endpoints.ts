import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CallRejectedError } from '../../call/call-errors.ts';
import type { CallLeg } from '../../call/call-leg.ts';
import type { ControlClient } from '../../call/session-events.ts';
import type { Config } from '../../config/schema.ts';
import { errorMessage } from '../../core/errors.ts';
import { JoinTokenError, type JoinTokenClaims } from '../../core/join-token.ts';
import type { Logger } from '../../core/logger.ts';
import { Pacer } from '../../media/rtp/pacer.ts';
import { ClientSocket } from './client-socket.ts';
import { isWsSampleRate, type WsSampleRate } from './protocol.ts';
import { WsCallLeg } from './ws-call-leg.ts';
import { WsControlClient, type HangupCall } from './ws-control-client.ts';

/** Start the session of a call created by POST /calls (medium websocket) on the leg that joined it. */
export type JoinCall = (callId: string, leg: CallLeg) => Promise<void>;
/** Attach an application to a live call; undefined when there is no such live call. Returns detach. */
export type AttachControl = (callId: string, client: ControlClient) => (() => void) | undefined;
export type { HangupCall } from './ws-control-client.ts';

/** Verifies and consumes a single-use token (`JoinTokens` from core/join-token.ts). */
export interface TokenVerifier {
  verify(token: unknown): Promise<JoinTokenClaims>;
}

export type WebSocketSettings = Config['websocket'];

export interface WsAudioFormat {
  readonly inputSampleRate: WsSampleRate;
  readonly outputSampleRate: WsSampleRate;
}

export const DEFAULT_JOIN_PATH = '/ws/join';
export const DEFAULT_CONTROL_PATH = '/ws/control';
const DEFAULT_RATE: WsSampleRate = 16000;
const SHUTDOWN_GRACE_MS = 1000;

export interface WebSocketEndpointsOptions {
  readonly settings: WebSocketSettings;
  /** The tokens `joinUrl` carries (the REST API issues them with the same instance). */
  readonly joinTokens: TokenVerifier;
  readonly joinCall: JoinCall;
  /**
   * The audio format the call was created with (POST /calls `medium`), looked up by call id. When absent, or
   * when it answers undefined, the joinUrl's `inputSampleRate`/`outputSampleRate` query parameters apply
   * (default 16000 each).
   */
  readonly callFormat?: (callId: string) => WsAudioFormat | undefined | Promise<WsAudioFormat | undefined>;
  /** The SIP control socket; without it the control path is not served. */
  readonly control?: {
    /** A separate token family (see `controlTokenSecret`), so a join token never opens a control socket. */
    readonly tokens: TokenVerifier;
    readonly attachControl: AttachControl;
    readonly hangupCall: HangupCall;
  };
  /** The process-wide pacer (shared with RTP); a private one is made and closed with the endpoints when absent. */
  readonly pacer?: Pacer;
  readonly logger: Logger;
  /** Default `/ws/join` (the REST API's `joinPath`). */
  readonly joinPath?: string;
  /** Default `/ws/control`. */
  readonly controlPath?: string;
}

export interface WebSocketEndpoints {
  /** Open WebSocket calls and control sockets. */
  readonly connections: number;
  /**
   * Take no new calls (the gateway drains): joins are refused 503 before their token is used; open calls and
   * control sockets of live calls go on.
   */
  drain(): void;
  /** Stop accepting, end every open call (1001 going away) and control socket; resolves when all are closed. */
  close(): Promise<void>;
}

/**
 * The WebSocket medium's endpoints on the HTTP server (`server.on('upgrade')`, ws in noServer mode):
 *
 * - `GET {joinPath}?token=<join token>[&inputSampleRate=&outputSampleRate=]`: the token is verified and
 *   consumed before the upgrade completes (401 with `{code}` when missing, malformed, forged, expired or
 *   used; 400 for a bad rate), so no audio flows on a refused token. The leg then goes to `joinCall`; a
 *   `CallRejectedError` closes it with `error` (`call_rejected`, the code in `detail`) and `call_ended`.
 * - `GET {controlPath}?token=<control token>[&callId=]`: attaches an application to the live call the token
 *   names (`attachControl`); no such live call: `error` (`call_not_found`) and close 1008.
 *
 * Paths it does not serve are left to other upgrade listeners (refused with 404 when it is the only one).
 */
export function attachWebSocketEndpoints(server: Server, options: WebSocketEndpointsOptions): WebSocketEndpoints {
  const settings = options.settings;
  const joinPath = options.joinPath ?? DEFAULT_JOIN_PATH;
  const controlPath = options.controlPath ?? DEFAULT_CONTROL_PATH;
  const ownPacer = options.pacer === undefined ? new Pacer({ logger: options.logger }) : undefined;
  const pacer = options.pacer ?? (ownPacer as Pacer);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: settings.maxMessageBytes,
    perMessageDeflate: false,
    // Invalid UTF-8 in a text frame is answered with an error message (the call goes on), not a 1007 close.
    skipUTF8Validation: true,
    clientTracking: false,
  });
  const legs = new Set<WsCallLeg>();
  const controls = new Set<WsControlClient>();
  const pending = new Set<Duplex>();
  const sockets = new Set<ClientSocket>();
  let closing = false;
  let draining = false;

  const socketFor = (ws: WebSocket, logger: Logger): ClientSocket => {
    const socket = new ClientSocket(ws, { maxMessagesPerSecond: settings.maxMessagesPerSecond, pingIntervalMs: settings.pingIntervalMs, logger });
    sockets.add(socket);
    void socket.whenClosed.then(() => sockets.delete(socket));
    return socket;
  };

  const startCall = (ws: WebSocket, callId: string, format: WsAudioFormat): void => {
    const log = options.logger.child({ callId, medium: 'websocket' });
    const leg = new WsCallLeg({
      callId,
      socket: socketFor(ws, log),
      inputSampleRate: format.inputSampleRate,
      outputSampleRate: format.outputSampleRate,
      pacer,
      outboundBufferMs: settings.outboundBufferMs,
      outboundLeadMs: settings.outboundLeadMs,
      logger: log,
    });
    legs.add(leg);
    void leg.ended.then(() => legs.delete(leg));
    log.info({ format }, 'websocket call joined');
    let join: Promise<void>;
    try {
      join = options.joinCall(callId, leg);
    } catch (err) {
      join = Promise.reject(err);
    }
    join.catch((err: unknown) => {
      if (err instanceof CallRejectedError) {
        log.info({ code: err.code }, 'websocket call refused');
        leg.refuse(err.code, err.message);
        return;
      }
      log.warn({ err: errorMessage(err) }, 'websocket call failed');
      leg.fail('the call failed');
    });
  };

  const startControl = (ws: WebSocket, callId: string): void => {
    const control = options.control;
    if (control === undefined) return;
    const log = options.logger.child({ callId, medium: 'control' });
    const socket = socketFor(ws, log);
    const client = new WsControlClient({ callId, socket, hangupCall: control.hangupCall, logger: log });
    let detach: (() => void) | undefined;
    try {
      detach = control.attachControl(callId, client);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'control attach failed');
    }
    if (detach === undefined) {
      socket.sendError('call_not_found', 'no live call with this id on this node');
      client.close(1008);
      return;
    }
    controls.add(client);
    client.attached(() => {
      controls.delete(client);
      detach();
    });
    log.info('control socket attached');
  };

  const admit = async (kind: 'join' | 'control', url: URL, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const token = url.searchParams.get('token');
    if (token === null || token === '') return refuse(socket, 401, 'CR_JOIN_TOKEN_MISSING', 'a token is required');
    let queryFormat: WsAudioFormat | undefined;
    if (kind === 'join') {
      queryFormat = formatFromQuery(url);
      if (queryFormat === undefined) return refuse(socket, 400, 'CR_WS_BAD_SAMPLE_RATE', 'inputSampleRate and outputSampleRate must be 8000, 16000, 24000 or 48000');
    }
    const verifier = kind === 'join' ? options.joinTokens : options.control?.tokens;
    if (verifier === undefined) return refuse(socket, 404, 'CR_WS_NOT_FOUND', 'not found');
    let claims: JoinTokenClaims;
    try {
      claims = await verifier.verify(token);
    } catch (err) {
      if (err instanceof JoinTokenError) return refuse(socket, 401, err.code, err.message);
      options.logger.warn({ err: errorMessage(err) }, 'websocket token check failed');
      return refuse(socket, 503, 'CR_WS_UNAVAILABLE', 'the token could not be checked');
    }
    const named = url.searchParams.get('callId');
    if (named !== null && named !== claims.callId) return refuse(socket, 403, 'CR_WS_WRONG_CALL', 'the token is for another call');
    let format = queryFormat;
    if (kind === 'join' && options.callFormat !== undefined) {
      try {
        format = (await options.callFormat(claims.callId)) ?? queryFormat;
      } catch (err) {
        options.logger.warn({ err: errorMessage(err) }, 'websocket call format lookup failed');
      }
    }
    if (closing) return refuse(socket, 503, 'CR_CALL_DRAINING', 'the gateway is shutting down');
    if (socket.destroyed) return;
    pending.delete(socket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (kind === 'join') startCall(ws, claims.callId, format as WsAudioFormat);
      else startControl(ws, claims.callId);
    });
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://callroom.invalid');
    } catch {
      url = new URL('http://callroom.invalid/');
    }
    const kind = url.pathname === joinPath ? 'join' : url.pathname === controlPath && options.control !== undefined ? 'control' : undefined;
    if (kind === undefined) {
      // Someone else's path; when nobody else listens, the socket must not hang.
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'CR_WS_NOT_FOUND', 'not found');
      return;
    }
    if (closing) return refuse(socket, 503, 'CR_CALL_DRAINING', 'the gateway is shutting down');
    if (draining && kind === 'join') return refuse(socket, 503, 'CR_CALL_DRAINING', 'the gateway is draining: no new calls');
    // A handshake ws would refuse must not consume a token first.
    if (!isWebSocketHandshake(req)) return refuse(socket, 400, 'CR_WS_BAD_HANDSHAKE', 'not a WebSocket handshake');
    // A reset while the token is checked must not become an unhandled 'error'.
    socket.on('error', () => undefined);
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
    admit(kind, url, req, socket, head).catch((err: unknown) => {
      options.logger.warn({ err: errorMessage(err) }, 'websocket upgrade failed');
      refuse(socket, 500, 'CR_WS_INTERNAL', 'internal error');
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    get connections() {
      return legs.size + controls.size;
    },
    drain() {
      draining = true;
    },
    async close() {
      if (closing) return;
      closing = true;
      server.off('upgrade', onUpgrade);
      for (const s of pending) s.destroy();
      pending.clear();
      const ended = [...legs].map((leg) => leg.ended);
      for (const leg of [...legs]) leg.shutdown();
      for (const c of [...controls]) c.close(1001);
      await Promise.all(ended);
      // Clients get a moment to answer the close frame; one that does not is dropped (ws would wait 30 s).
      const closedAll = Promise.all([...sockets].map((s) => s.whenClosed));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), SHUTDOWN_GRACE_MS);
      });
      const outcome = await Promise.race([closedAll, grace]);
      clearTimeout(timer);
      if (outcome === 'late') {
        for (const s of [...sockets]) s.terminate('server-closed', 'gateway shutting down');
        await closedAll;
      }
      ownPacer?.close();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function isWebSocketHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    (version === '13' || version === '8')
  );
}

function formatFromQuery(url: URL): WsAudioFormat | undefined {
  const rate = (name: string): WsSampleRate | undefined => {
    const raw = url.searchParams.get(name);
    if (raw === null) return DEFAULT_RATE;
    const n = Number(raw);
    return isWsSampleRate(n) ? n : undefined;
  };
  const inputSampleRate = rate('inputSampleRate');
  const outputSampleRate = rate('outputSampleRate');
  return inputSampleRate === undefined || outputSampleRate === undefined ? undefined : { inputSampleRate, outputSampleRate };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answer an upgrade request with a plain HTTP error and close: nothing of the WebSocket starts. */
function refuse(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  socket.on('error', () => undefined);
  const body = JSON.stringify({ code, message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
}
