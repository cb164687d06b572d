import type { AgentSpec } from '../config/agent-schema.ts';
import type { SampleRate } from '../storage/call-record.ts';
import type { AgentToolRecord } from '../storage/types.ts';

/**
 * What the REST API needs from the call layer to start and end live calls. The API owns this interface
 * (it is the consumer); the call layer implements it.
 *
 * Contract:
 * - `start` resolves once the call exists: its record has been created in storage (`calls.create`, state
 *   `starting`), so GET /calls/{id} finds it. It rejects with a CallroomError whose code tells the API what
 *   to answer: `CR_CALL_LIMIT` 429, `CR_CALL_DRAINING` 503, `CR_CALL_AGENT_INVALID` 400, `CR_CALL_NO_AGENT`
 *   400, `CR_CALL_TRUNK_UNKNOWN` 400; anything else 500. It must not throw synchronously.
 * - For a WebSocket call the API then signs a single-use join token for the returned `callId`; the call
 *   waits for its client to connect with it (and ends itself, `unanswered`, if none does in time).
 * - `hangup` ends a live call (end reason `api-hangup`); false when this node has no live call of that id.
 * - `activeCount` counts live calls on this node (the API refuses new ones at `limits.maxConcurrentCalls`).
 */
export interface CallsPort {
  start(request: StartCallRequest): Promise<StartedCall>;
  hangup(callId: string): Promise<boolean>;
  readonly activeCount: number;
}

export type StartCallMedium =
  | { readonly type: 'websocket'; readonly inputSampleRate: SampleRate; readonly outputSampleRate: SampleRate }
  /** Dial out: `to` and `from` are SIP URIs or E.164 numbers, `trunk` a trunk name from the config. */
  | { readonly type: 'sip'; readonly to: string; readonly from: string; readonly trunk: string };

export interface StartCallRequest {
  /** The agent, validated, defaults applied, secrets in full. */
  readonly agent: AgentSpec;
  /** The stored agent's id; null for an inline agent. */
  readonly agentId: string | null;
  /** API-managed tools assigned to the agent, in assignment order (secrets in full). */
  readonly tools: readonly AgentToolRecord[];
  readonly medium: StartCallMedium;
  readonly metadata: Readonly<Record<string, string>>;
  /** Ends the call after this long; at most `limits.maxCallSeconds`. */
  readonly maxDurationSeconds: number;
}

export interface StartedCall {
  readonly callId: string;
}

/**
 * The agent with its assigned API tools appended to its inline HTTP and client tools: one spec the call
 * layer builds a runtime from, as it does for config agents. The API has already refused clashing names.
 */
export function withAssignedTools(request: Pick<StartCallRequest, 'agent' | 'tools'>): AgentSpec {
  const { agent, tools } = request;
  return {
    ...agent,
    tools: {
      ...agent.tools,
      http: [...agent.tools.http, ...tools.flatMap((t) => (t.type === 'http' ? [t.definition] : []))],
      client: [...agent.tools.client, ...tools.flatMap((t) => (t.type === 'client' ? [t.definition] : []))],
    },
  };
}
