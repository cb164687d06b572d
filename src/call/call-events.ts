/**
 * Everything a call reports while it runs, for its record, webhooks, metrics and traces: the session
 * events a medium's client sees, plus what only operators need (answer time, per-turn latency waterfall,
 * which recogniser and voice served, provider faults). One typed stream per call; listeners never throw
 * into the call (see `Listeners`).
 */
import type { SessionEvent } from './session-events.ts';
import type { SttStatus } from './stt-link.ts';

/** One turn's timeline on the call clock (ms since the call was answered); absent marks did not happen. */
export interface TurnTiming {
  readonly turn: number;
  readonly source: 'speech' | 'dtmf';
  /** The caller's speech ended (VAD, padded edge). */
  readonly speechEndMs?: number;
  /** The last final transcript came in. */
  readonly sttFinalMs?: number;
  /** Turn-taking decided the turn was over. */
  readonly decidedMs: number;
  readonly llmFirstTokenMs?: number;
  /** The first TTS audio of the reply was written to the medium (the first packet leaves within one packet time). */
  readonly firstAudioMs?: number;
  /** The reply's first packet left for the caller (media that can tell: SIP). */
  readonly firstPacketMs?: number;
  readonly bargeInMs?: number;
  readonly endedMs?: number;
  /** How the turn's model run ended (stop, error, timeout, aborted, ...). */
  readonly outcome?: string;
}

/**
 * Why we ended a call, when we did: the agent's hangUp tool, the API, the call's time limit, or the
 * gateway shutting down. Absent when the far end ended it (the leg's end says how).
 */
export type HangupCause = 'agent-hangup' | 'api-hangup' | 'max-duration' | 'shutdown';

export type CallEvent =
  | SessionEvent
  /** The call exists (ringing, or joined), before it is answered. */
  | { readonly type: 'started'; readonly atMs: number }
  | { readonly type: 'hangup_cause'; readonly cause: HangupCause; readonly detail?: string }
  | { readonly type: 'answered'; readonly atMs: number; readonly agent: string; readonly medium: string }
  | { readonly type: 'turn'; readonly timing: TurnTiming }
  | { readonly type: 'stt'; readonly status: SttStatus; readonly atMs: number }
  | { readonly type: 'tts_failed'; readonly provider: string; readonly error: string; readonly next: string | undefined; readonly atMs: number }
  | { readonly type: 'llm_failed'; readonly error: string; readonly atMs: number }
  | { readonly type: 'false_barge_in'; readonly why: 'echo' | 'short'; readonly atMs: number };

/** The events a medium's client or a control socket sees. */
export function isSessionEvent(event: CallEvent): event is SessionEvent {
  return (
    event.type === 'state' ||
    event.type === 'transcript' ||
    event.type === 'dtmf' ||
    event.type === 'barge_in' ||
    event.type === 'tool_started' ||
    event.type === 'tool_finished' ||
    event.type === 'ended'
  );
}
