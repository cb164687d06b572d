/**
 * The Callroom WebSocket protocol (at `joinUrl`, and the SIP control socket): binary frames are PCM s16le
 * mono (client -> server at `inputSampleRate`, server -> client at `outputSampleRate`); text frames are JSON
 * objects with a `type`. This module is the one place that knows the message shapes: the server's
 * messages as types, the client's as a parser that never throws (bad input is a value with an error code).
 */
import { isUtf8 } from 'node:buffer';
import type { LegEndReason } from '../../call/call-leg.ts';
import { parseClientToolResponse, type ClientToolResponse, type SessionState } from '../../call/session-events.ts';

/** Rates a WebSocket client may send and receive. */
export const WS_SAMPLE_RATES = [8000, 16000, 24000, 48000] as const;
export type WsSampleRate = (typeof WS_SAMPLE_RATES)[number];

export function isWsSampleRate(value: unknown): value is WsSampleRate {
  return typeof value === 'number' && (WS_SAMPLE_RATES as readonly number[]).includes(value);
}

/** Stable codes of the `error` messages the server sends. */
export type WsErrorCode =
  /** Not JSON, not UTF-8, or not an object with a string `type`. */
  | 'malformed_message'
  /** A `type` this endpoint does not take. */
  | 'unknown_message_type'
  /** A known type with missing or wrong fields. */
  | 'invalid_message'
  /** A `client_tool_result` for an id this call never sent. */
  | 'unknown_invocation'
  /** A `client_tool_result` for an invocation already answered, or given up on (deadline, cancelled). */
  | 'invocation_not_pending'
  /** The room stopped waiting for an invocation (its configured deadline passed, or its turn gave up). */
  | 'client_tool_cancelled'
  /** Messages beyond `websocket.maxMessagesPerSecond` are dropped (reported at most once a second). */
  | 'rate_limited'
  /** Binary audio on a socket that carries none (the control socket), or before the call started. */
  | 'unexpected_audio'
  /** The call layer refused the call (`CR_CALL_NOT_FOUND`, `CR_CALL_LIMIT`, ...; in `detail`). */
  | 'call_rejected'
  /** A `hang_up` on the control socket for a call that is no longer live. */
  | 'call_not_found';

/** What the server sends as text frames. */
export type ServerMessage =
  | { readonly type: 'call_started'; readonly callId: string; readonly inputSampleRate?: number; readonly outputSampleRate?: number }
  | { readonly type: 'state'; readonly state: SessionState }
  | {
      readonly type: 'transcript';
      readonly role: 'user' | 'assistant';
      readonly text: string;
      /** false: a partial (interim recognition, or the agent's text as it streams). */
      readonly final: boolean;
      readonly atMs: number;
      readonly interrupted?: boolean;
    }
  | { readonly type: 'client_tool_invocation'; readonly invocationId: string; readonly toolName: string; readonly parameters: Record<string, unknown> }
  /** Barge-in: drop whatever audio the client has buffered and not played. */
  | { readonly type: 'playback_clear_buffer' }
  | { readonly type: 'dtmf'; readonly digits: string }
  | { readonly type: 'pong'; readonly timestamp?: number }
  | { readonly type: 'error'; readonly code: WsErrorCode; readonly message: string; readonly invocationId?: string; readonly detail?: string }
  | { readonly type: 'call_ended'; readonly reason: LegEndReason; readonly detail?: string };

/** Ultravox client-tool response types: a plain result, or one that also ends the call. */
export type ClientToolResponseType = 'tool-response' | 'hang-up';

/** What the client sends as text frames, parsed. */
export type ClientMessage =
  | { readonly type: 'client_tool_result'; readonly response: ClientToolResponse; readonly responseType: ClientToolResponseType }
  | { readonly type: 'hang_up' }
  | { readonly type: 'ping'; readonly timestamp?: number };

export type ParsedClientMessage =
  | { readonly ok: true; readonly message: ClientMessage }
  | { readonly ok: false; readonly code: WsErrorCode; readonly message: string; readonly invocationId?: string };

/** Longest `errorMessage` / string field echoed back; longer ones are cut (the client sees the cut). */
const MAX_ECHO = 200;

/**
 * Read one text frame. Never throws: anything that is not a well-formed client message comes back as
 * `{ok: false, code, message}` for an `error` reply, and the call goes on.
 */
export function parseClientMessage(data: Uint8Array): ParsedClientMessage {
  if (!isUtf8(data)) return bad('malformed_message', 'text frame is not UTF-8');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return bad('malformed_message', 'text frame is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad('malformed_message', 'message is not a JSON object');
  const v = value as Record<string, unknown>;
  const type = v['type'];
  if (typeof type !== 'string') return bad('malformed_message', 'message has no string "type"');
  switch (type) {
    case 'client_tool_result':
      return parseToolResult(v);
    case 'hang_up':
      return { ok: true, message: { type: 'hang_up' } };
    case 'ping': {
      const ts = v['timestamp'];
      return { ok: true, message: typeof ts === 'number' && Number.isFinite(ts) ? { type: 'ping', timestamp: ts } : { type: 'ping' } };
    }
    default:
      return bad('unknown_message_type', `unknown message type ${JSON.stringify(type.slice(0, 64))}`);
  }
}

function parseToolResult(v: Record<string, unknown>): ParsedClientMessage {
  const id = v['invocationId'];
  if (typeof id !== 'string' || id === '' || id.length > 128) return bad('invalid_message', 'client_tool_result needs a string invocationId');
  const rt = v['responseType'] ?? 'tool-response';
  if (rt !== 'tool-response' && rt !== 'hang-up') {
    return bad('invalid_message', 'responseType must be "tool-response" or "hang-up"', id);
  }
  const hasResult = 'result' in v;
  const hasError = 'errorType' in v;
  if (hasResult === hasError) return bad('invalid_message', 'client_tool_result needs exactly one of result and errorType', id);
  if (hasError && v['errorType'] !== 'implementation-error' && v['errorType'] !== 'undefined') {
    return bad('invalid_message', 'errorType must be "implementation-error" or "undefined"', id);
  }
  if (hasError && v['errorMessage'] !== undefined && typeof v['errorMessage'] !== 'string') {
    return bad('invalid_message', 'errorMessage must be a string', id);
  }
  const response = parseClientToolResponse(v);
  if (response === undefined) return bad('invalid_message', 'client_tool_result is not a result or an error', id);
  return { ok: true, message: { type: 'client_tool_result', response, responseType: rt } };
}

function bad(code: WsErrorCode, message: string, invocationId?: string): ParsedClientMessage {
  return { ok: false, code, message, ...(invocationId === undefined ? {} : { invocationId: invocationId.slice(0, MAX_ECHO) }) };
}
