/**
 * What a call session tells the outside while it runs: its state, both sides' transcripts, barge-ins,
 * tool activity and its end. The WebSocket medium forwards these to its client, a SIP call's control
 * socket forwards them to the application, and the call record and webhooks are written from them.
 */
import type { ClientToolConnection } from '../room/client-tool.ts';
import type { LegEnd } from './call-leg.ts';

export type {
  ClientToolConnection,
  ClientToolErrorType,
  ClientToolInvocation,
  ClientToolResponse,
} from '../room/client-tool.ts';
export { parseClientToolResponse } from '../room/client-tool.ts';

/** `idle` before answer and after the end; `listening` for the caller; `thinking` on a turn; `speaking` while audio plays. */
export type SessionState = 'idle' | 'listening' | 'thinking' | 'speaking';

export type SessionEvent =
  | { readonly type: 'state'; readonly state: SessionState }
  | {
      readonly type: 'transcript';
      readonly role: 'user' | 'assistant';
      readonly text: string;
      /** false for a partial (the caller's interim recognition, or the agent's text as it streams). */
      readonly final: boolean;
      /** Ms since the call was answered. */
      readonly atMs: number;
      /** An agent reply cut by barge-in: `text` is what the caller heard. */
      readonly interrupted?: boolean;
    }
  | { readonly type: 'dtmf'; readonly digit: string; readonly atMs: number }
  /** Caller speech stopped the agent: a medium with its own buffer drops it (`playback_clear_buffer`). */
  | { readonly type: 'barge_in'; readonly atMs: number; readonly droppedMs: number }
  | { readonly type: 'tool_started'; readonly toolCallId: string; readonly name: string; readonly atMs: number }
  | {
      readonly type: 'tool_finished';
      readonly toolCallId: string;
      readonly name: string;
      readonly atMs: number;
      readonly durationMs: number;
      readonly outcome: 'ok' | 'error' | 'timeout' | 'cancelled' | 'refused';
    }
  | { readonly type: 'ended'; readonly end: LegEnd; readonly atMs: number };

/**
 * An application attached to a live call from outside its medium (a SIP call's control socket): it
 * receives the session's events and answers client tools, exactly as a WebSocket medium client does.
 */
export interface ControlClient extends ClientToolConnection {
  onSessionEvent(event: SessionEvent): void;
}
