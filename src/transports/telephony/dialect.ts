/**
 * The seam between the shared WebSocket bridge listener and one platform's dialect: the listener accepts
 * and authenticates the connection and picks the dialect; the dialect parses its wire format from the
 * first frame on and, once the platform has said which call this is, asks the context to begin the call
 * with a `BridgeLeg` it builds.
 */
import type { TELEPHONY_DIALECTS } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { ClientSocket, SocketClosed } from '../ws/client-socket.ts';
import type { BridgeLeg, PlayoutSettings } from './bridge-leg.ts';

export type TelephonyDialect = (typeof TELEPHONY_DIALECTS)[number];

/** What the platform said about the call when its stream started. */
export interface BridgeStart {
  /** The platform's id of the call (Twilio CallSid, jambonz callSid, Asterisk channel id, ...), for the call id. */
  readonly platformCallId?: string | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  /** The key the platform passed as its custom parameter `token`. */
  readonly token?: string | undefined;
  /** An agent name the platform passed as its custom parameter `agent`. */
  readonly agent?: string | undefined;
}

/** What a dialect gets to build its leg with. */
export interface LegSetup {
  readonly callId: string;
  /** A logger with the call id in context. */
  readonly logger: Logger;
  readonly pacer: Pacer;
  readonly playout: PlayoutSettings;
}

/** Endpoint settings a dialect may need. */
export interface DialectSettings {
  /** jambonz: the rate of bidirectional audio when the metadata does not say. */
  readonly outputSampleRate?: number | undefined;
}

export interface WsBridgeContext {
  readonly socket: ClientSocket;
  /** Logger with the connection's dialect and remote address. */
  readonly logger: Logger;
  readonly settings: DialectSettings;
  /** The WebSocket subprotocol agreed in the upgrade ('' when none). */
  readonly subprotocol: string;
  /**
   * The platform said which call this is: the key is checked (when the URL did not carry a valid one), and
   * the leg `build` makes goes to the call layer. Undefined when the connection was refused (it is closing).
   */
  begin(start: BridgeStart, build: (setup: LegSetup) => BridgeLeg): BridgeLeg | undefined;
  /** Give up before a call exists (malformed start, unsupported codec): logged, and the socket closes with `code`. */
  refuse(detail: string, code?: number): void;
}

/** One connection in one dialect, from its first frame to its close. Handlers never throw. */
export interface DialectSession {
  text(data: Buffer): void;
  binary(data: Buffer): void;
  /** The connection closed (after the call began, the leg ends here). */
  closed(closed: SocketClosed): void;
}

export interface WsDialect {
  readonly name: TelephonyDialect;
  /** WebSocket subprotocols the platform asks for (and that select this dialect). */
  readonly subprotocols: readonly string[];
  open(ctx: WsBridgeContext): DialectSession;
}
