import type { WEBHOOK_EVENT_TYPES } from '../config/schema.ts';

/**
 * The vocabulary of a call record: what the call layer writes as a call progresses, what the REST API
 * reads back (GET /calls/{id}) and what webhooks carry. It lives here, below both, so the call layer and
 * the API share one shape without importing each other.
 *
 * Times: `createdAt`, `answeredAt`, `endedAt` are wall-clock Unix milliseconds; every `atMs` /
 * `startedAtMs` inside a call is milliseconds since the call's `createdAt`.
 */

export type CallState = 'starting' | 'ringing' | 'active' | 'ended';
export const CALL_STATES: readonly CallState[] = ['starting', 'ringing', 'active', 'ended'];

export type SampleRate = 8000 | 16000 | 24000 | 48000;
export const SAMPLE_RATES: readonly SampleRate[] = [8000, 16000, 24000, 48000];

export type CallMediumInfo =
  | { readonly type: 'websocket'; readonly inputSampleRate: SampleRate; readonly outputSampleRate: SampleRate }
  | {
      readonly type: 'sip';
      readonly direction: 'inbound' | 'outbound';
      readonly from: string;
      readonly to: string;
      /** The trunk dialled out through, or matched on the way in. */
      readonly trunk?: string;
    };

/**
 * Why a call ended. The values the call layer is expected to use are listed; the field is free text so a
 * new reason needs no migration.
 */
export type CallEndReason =
  | 'caller-hangup'
  | 'agent-hangup'
  | 'api-hangup'
  | 'transferred'
  | 'max-duration'
  | 'unanswered'
  | 'rejected'
  | 'failed'
  | 'shutdown'
  | (string & {});

export interface TranscriptEntry {
  readonly role: 'user' | 'assistant' | 'system';
  readonly text: string;
  readonly atMs: number;
  /** The agent was interrupted (barge-in) before finishing this text. */
  readonly interrupted?: boolean;
}

export type ToolCallOutcome = 'ok' | 'error' | 'timeout' | 'cancelled' | 'refused';

export interface ToolCallEntry {
  /** The model's id for this tool call. */
  readonly toolCallId: string;
  readonly name: string;
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly outcome: ToolCallOutcome;
  /** The start of the result (the call layer truncates; secrets are already scrubbed by the tool). */
  readonly resultPreview?: string;
}

/** One named instant of a turn (`speech_end`, `stt_final`, `llm_first_token`, `tts_first_audio`, ...). */
export interface TurnMark {
  readonly name: string;
  readonly atMs: number;
}

/** The timestamps of one turn, in the order they happened. */
export interface TurnTiming {
  /** Turn number within the call, from 1. */
  readonly turn: number;
  readonly marks: readonly TurnMark[];
}

export interface NewCallRecord {
  readonly id: string;
  /** The stored agent, or null for an inline agent or a config agent. */
  readonly agentId: string | null;
  readonly agentName: string;
  readonly medium: CallMediumInfo;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Unix ms. */
  readonly createdAt: number;
  /**
   * The node that holds the call (`cluster.nodeId`). Absent: the storage writes its own node's id, which is
   * right for every writer today (a node creates records only for the calls it holds).
   */
  readonly nodeId?: string;
}

/** A call without its transcript, tool calls and turns (list views). */
export interface CallSummary {
  readonly id: string;
  readonly agentId: string | null;
  readonly agentName: string;
  readonly medium: CallMediumInfo;
  readonly state: CallState;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly answeredAt: number | null;
  readonly endedAt: number | null;
  readonly endReason: string | null;
  /** The node holding (or that held) the call; null for records written before nodes were recorded. */
  readonly nodeId: string | null;
}

export interface CallRecord extends CallSummary {
  readonly transcript: readonly TranscriptEntry[];
  readonly toolCalls: readonly ToolCallEntry[];
  readonly turns: readonly TurnTiming[];
}

export type CallEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What `call.ended` carries: the whole record as it stands when the call ends. */
export interface CallEndedData {
  readonly endReason: string;
  readonly agentId: string | null;
  readonly agentName: string;
  readonly medium: CallMediumInfo;
  readonly createdAt: string;
  readonly answeredAt: string | null;
  readonly endedAt: string;
  readonly durationMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly transcript: readonly TranscriptEntry[];
  readonly toolCalls: readonly ToolCallEntry[];
  readonly turns: readonly TurnTiming[];
}

/** `call.tool`: a tool call starting, then (with the same toolCallId) finishing. */
export type CallToolData =
  | { readonly phase: 'started'; readonly toolCallId: string; readonly name: string; readonly startedAtMs: number }
  | ({ readonly phase: 'finished' } & ToolCallEntry);

export interface CallStartedData {
  /** A single-use control socket URL for this call (client tools and events), when the gateway serves them. */
  readonly controlUrl?: string;
  readonly agentId: string | null;
  readonly agentName: string;
  readonly medium: CallMediumInfo;
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * An event of a call, as the call layer publishes it. `at` (ISO 8601) defaults to the moment of publishing.
 * Tool arguments are never part of an event: automatic parameters may be secrets.
 */
export type CallWebhookEvent =
  | { readonly type: 'call.started'; readonly callId: string; readonly at?: string; readonly data: CallStartedData }
  | { readonly type: 'call.transcript'; readonly callId: string; readonly at?: string; readonly data: TranscriptEntry }
  | { readonly type: 'call.tool'; readonly callId: string; readonly at?: string; readonly data: CallToolData }
  | { readonly type: 'call.ended'; readonly callId: string; readonly at?: string; readonly data: CallEndedData };

/** Build `call.ended` data from a record (the call layer reads its record back, or keeps one in memory). */
export function callEndedData(record: CallRecord, endedAt: number, endReason: string): CallEndedData {
  return {
    endReason,
    agentId: record.agentId,
    agentName: record.agentName,
    medium: record.medium,
    createdAt: new Date(record.createdAt).toISOString(),
    answeredAt: record.answeredAt === null ? null : new Date(record.answeredAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    durationMs: Math.max(0, endedAt - record.createdAt),
    metadata: record.metadata,
    transcript: record.transcript,
    toolCalls: record.toolCalls,
    turns: record.turns,
  };
}
