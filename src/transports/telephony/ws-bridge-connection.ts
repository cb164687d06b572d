import type { CallOrigin } from '../../call/call-leg.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { ClientSocket, SocketClosed } from '../ws/client-socket.ts';
import type { ApiKeys } from './api-keys.ts';
import type { BridgeCalls } from './bridge-calls.ts';
import type { BridgeLeg, PlayoutSettings } from './bridge-leg.ts';
import { detectDialect } from './detect-dialect.ts';
import type { BridgeStart, DialectSession, DialectSettings, LegSetup, TelephonyDialect, WsBridgeContext, WsDialect } from './dialect.ts';

/** Text frames kept while the dialect is being recognised (the Twilio family needs `connected` then `start`). */
const MAX_DETECT_FRAMES = 4;
/** Binary frames tolerated before a call starts (audio racing the start message). */
const MAX_EARLY_BINARY = 100;

export interface WsBridgeConnectionOptions {
  readonly socket: ClientSocket;
  readonly subprotocol: string;
  readonly dialects: ReadonlyMap<TelephonyDialect, WsDialect>;
  /** Known from the endpoint or the subprotocol; undefined: recognised from the first frames. */
  readonly dialect: TelephonyDialect | undefined;
  /** Keys still to check against the platform's custom parameter; undefined when already authenticated. */
  readonly keys: ApiKeys | undefined;
  readonly agent: string | undefined;
  readonly settings: DialectSettings;
  readonly startTimeoutMs: number;
  readonly calls: BridgeCalls;
  readonly pacer: Pacer;
  readonly playout: PlayoutSettings;
  readonly logger: Logger;
  /** The connection is closed and forgotten. */
  readonly onDone: () => void;
}

/**
 * One platform connection on a telephony endpoint: recognises the dialect (unless the endpoint names it),
 * hands every frame to that dialect's session, and gives the session its context: `begin` (key check, call
 * id, the call layer) and `refuse`. A connection that has not begun a call within `startTimeoutMs` is closed.
 * Nothing a peer sends can throw out of here: a dialect that fails ends its call, or the connection.
 */
export class WsBridgeConnection implements WsBridgeContext {
  readonly socket: ClientSocket;
  readonly subprotocol: string;
  readonly settings: DialectSettings;
  logger: Logger;
  readonly #o: WsBridgeConnectionOptions;
  #session: DialectSession | undefined;
  #detecting: Buffer[] = [];
  #earlyBinary = 0;
  #timer: NodeJS.Timeout | undefined;
  #leg: BridgeLeg | undefined;
  #detected: TelephonyDialect | undefined;
  #refused = false;
  #done = false;

  constructor(options: WsBridgeConnectionOptions) {
    this.#o = options;
    this.socket = options.socket;
    this.subprotocol = options.subprotocol;
    this.settings = options.settings;
    this.logger = options.logger;
    this.#timer = setTimeout(() => this.refuse(`no call started within ${options.startTimeoutMs} ms`), options.startTimeoutMs);
    if (options.dialect !== undefined) this.#open(options.dialect);
    this.socket.setHandlers({
      onText: (data) => this.#guard(() => this.#text(data)),
      onBinary: (data) => this.#guard(() => this.#binary(data)),
      onClose: (closed) => this.#guard(() => this.#closed(closed)),
    });
    const closed = this.socket.closed;
    if (closed !== undefined) this.#closed(closed);
  }

  /** Whether the connection began a call. */
  get started(): boolean {
    return this.#leg !== undefined;
  }

  begin(start: BridgeStart, build: (setup: LegSetup) => BridgeLeg): BridgeLeg | undefined {
    if (this.#refused || this.#done || this.#leg !== undefined) return undefined;
    const keys = this.#o.keys;
    if (keys !== undefined && !keys.accepts(start.token)) {
      this.refuse(start.token === undefined ? 'no token in the URL or the platform custom parameters' : 'invalid token in the platform custom parameters');
      return undefined;
    }
    this.#clearTimer();
    const calls = this.#o.calls;
    const medium = this.#dialectName();
    const callId = calls.callId(medium, start.platformCallId);
    const logger = this.#o.logger.child({ callId, medium });
    const leg = build({ callId, logger, pacer: this.#o.pacer, playout: this.#o.playout });
    this.#leg = leg;
    this.logger = logger;
    const origin: CallOrigin = {
      direction: 'inbound',
      from: start.from ?? '',
      to: start.to ?? '',
      dialled: this.#o.agent ?? start.agent ?? '',
    };
    calls.start(leg, origin, logger);
    return leg;
  }

  refuse(detail: string, code = 1008): void {
    if (this.#refused || this.#done) return;
    this.#refused = true;
    this.#clearTimer();
    if (this.#leg !== undefined) {
      this.#leg.fail(detail);
      return;
    }
    this.logger.warn({ detail, dialect: this.#dialectName() }, 'telephony connection refused');
    this.socket.close(code, detail.slice(0, 120));
  }

  /** Gateway shutdown: a connection without a call is dropped now. */
  abandon(): void {
    if (this.#leg === undefined) {
      this.#clearTimer();
      this.socket.terminate('server-closed', 'gateway shutting down');
    }
  }

  #dialectName(): string {
    return this.#detected ?? 'unknown';
  }

  #open(name: TelephonyDialect): void {
    const dialect = this.#o.dialects.get(name);
    if (dialect === undefined) {
      this.refuse(`dialect ${name} is not available`);
      return;
    }
    this.#detected = name;
    this.logger = this.logger.child({ dialect: name });
    this.#session = dialect.open(this);
  }

  #text(data: Buffer): void {
    if (this.#refused) return;
    if (this.#session !== undefined) {
      this.#session.text(data);
      return;
    }
    const d = detectDialect(data);
    if (d.kind === 'unknown') {
      this.refuse(d.detail);
      return;
    }
    this.#detecting.push(data);
    if (d.kind === 'wait') {
      if (this.#detecting.length >= MAX_DETECT_FRAMES) this.refuse('the platform was not recognised from its first messages');
      return;
    }
    this.#open(d.dialect);
    const kept = this.#detecting;
    this.#detecting = [];
    for (const frame of kept) {
      // #open may have refused (no such dialect), and a replayed frame may end the connection.
      const session = this.#session as DialectSession | undefined;
      if (session === undefined || (this.#refused as boolean)) return;
      session.text(frame);
    }
  }

  #binary(data: Buffer): void {
    if (this.#refused) return;
    if (this.#session !== undefined) {
      this.#session.binary(data);
      return;
    }
    if (++this.#earlyBinary > MAX_EARLY_BINARY) this.refuse('binary frames before the platform said who it is');
  }

  #closed(closed: SocketClosed): void {
    if (this.#done) return;
    this.#done = true;
    this.#clearTimer();
    if (this.#leg === undefined && !this.#refused) {
      this.logger.info({ cause: closed.cause, detail: closed.detail }, 'telephony connection closed before a call started');
    }
    // The socket names the WebSocket medium's setting; here the limit is ours.
    const said = closed.cause === 'message-too-large' ? { ...closed, detail: 'the platform sent a message over telephony.maxMessageBytes' } : closed;
    this.#session?.closed(said);
    this.#o.onDone();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A dialect bug must not reach the socket's event emitter (that would crash the process). */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, 'telephony dialect failed');
      try {
        if (this.#leg !== undefined) this.#leg.fail('the bridge failed on a message from the platform');
        else this.refuse('the bridge failed on a message from the platform', 1011);
      } catch {
        this.socket.terminate('server-closed', 'bridge failure');
      }
    }
  }
}
