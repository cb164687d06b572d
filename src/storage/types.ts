import type { AgentSpec, ClientToolSpec, HttpToolSpec } from '../config/agent-schema.ts';
import type { CallEventType } from './call-record.ts';
import type {
  CallRecord,
  CallState,
  CallSummary,
  NewCallRecord,
  ToolCallEntry,
  TranscriptEntry,
  TurnTiming,
} from './call-record.ts';
import type { JtiStore } from '../core/join-token.ts';

/**
 * What the rest of the gateway stores, behind one interface: agents, API-managed tools and their
 * assignment to agents, webhook endpoints, call records, used join-token ids. Every method is async so a
 * networked database (PostgreSQL) can implement it; test/support/storage-contract.ts is the suite every
 * implementation passes.
 *
 * Errors: a write that does not happen rejects (never a silent loss): `StorageError` with code
 * `CR_STORAGE_CONFLICT` (a unique name is taken, or the record changed since it was read),
 * `CR_STORAGE_NOT_FOUND` (a referenced record does not exist; `missing` names the ids),
 * `CR_STORAGE_IN_USE` (a tool still assigned to an agent), `CR_STORAGE_CLOSED`, `CR_STORAGE_FAILED`.
 * Times are Unix milliseconds.
 */
export interface Storage {
  readonly agents: AgentStore;
  readonly tools: AgentToolStore;
  readonly webhooks: WebhookStore;
  readonly calls: CallStore;
  /** Used join-token ids (single-use tokens across every node sharing this storage). */
  readonly joinTokens: JtiStore;
  /** The nodes sharing this storage, this one included (heartbeats, public URLs, calls of lost nodes). */
  readonly nodes: NodeStore;
  /** Close the database; later calls reject with CR_STORAGE_CLOSED. Idempotent. */
  close(): Promise<void>;
}

export interface PageRequest {
  /** From 1. */
  readonly page: number;
  readonly limit: number;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Matching records over all pages. */
  readonly total: number;
}

/** Optimistic concurrency: every update names the version it read; a newer one means CR_STORAGE_CONFLICT. */
export interface Versioned {
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AgentRecord extends Versioned {
  readonly id: string;
  /** `spec.name`. Unique, case-insensitively. */
  readonly name: string;
  readonly spec: AgentSpec;
}

export interface AgentStore {
  /** Create with a fresh id. Conflict when the name is taken. */
  create(spec: AgentSpec): Promise<AgentRecord>;
  get(id: string): Promise<AgentRecord | undefined>;
  /** Case-insensitive. */
  getByName(name: string): Promise<AgentRecord | undefined>;
  /** Oldest first; `search` matches the name or description (case-insensitive substring). */
  list(query: PageRequest & { readonly search?: string }): Promise<Page<AgentRecord>>;
  /** Replace the spec. undefined when no such agent; conflict when the version moved on or the new name is taken. */
  update(id: string, expectedVersion: number, spec: AgentSpec): Promise<AgentRecord | undefined>;
  /** Deletes its tool assignments too. False when no such agent. */
  delete(id: string): Promise<boolean>;
  /**
   * Assign tools, all or none: CR_STORAGE_NOT_FOUND (with `missing`) when the agent or any tool does not exist.
   * Assigning a tool already assigned is not an error.
   */
  assignTools(agentId: string, toolIds: readonly string[]): Promise<void>;
  /** False when the tool was not assigned to that agent. */
  unassignTool(agentId: string, toolId: string): Promise<boolean>;
  /** The tools assigned to an agent, in assignment order. */
  listTools(agentId: string): Promise<readonly AgentToolRecord[]>;
}

export type AgentToolDefinition =
  | { readonly type: 'http'; readonly definition: HttpToolSpec }
  | { readonly type: 'client'; readonly definition: ClientToolSpec };

export type AgentToolRecord = Versioned & {
  readonly id: string;
  /** Unique, case-insensitively. */
  readonly name: string;
} & AgentToolDefinition;

export interface NewAgentTool {
  readonly name: string;
  readonly tool: AgentToolDefinition;
}

export interface AgentToolStore {
  create(tool: NewAgentTool): Promise<AgentToolRecord>;
  get(id: string): Promise<AgentToolRecord | undefined>;
  /**
   * Oldest first. `search`: case-insensitive substring of the name, the description or the model tool name
   * (`definition.name`); `%` and `_` are literal.
   */
  list(query: PageRequest & { readonly search?: string; readonly type?: 'http' | 'client' }): Promise<Page<AgentToolRecord>>;
  update(id: string, expectedVersion: number, tool: NewAgentTool): Promise<AgentToolRecord | undefined>;
  /** CR_STORAGE_IN_USE while assigned to any agent. False when no such tool. */
  delete(id: string): Promise<boolean>;
  /** Ids of the agents the tool is assigned to. */
  assignedTo(id: string): Promise<readonly string[]>;
}

export interface WebhookRecord extends Versioned {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  /** null: every event type. */
  readonly events: readonly CallEventType[] | null;
}

export interface NewWebhook {
  readonly url: string;
  readonly secret: string;
  readonly events: readonly CallEventType[] | null;
}

export interface WebhookStore {
  create(webhook: NewWebhook): Promise<WebhookRecord>;
  get(id: string): Promise<WebhookRecord | undefined>;
  /** Every endpoint, oldest first (the dispatcher loads them at start). */
  all(): Promise<readonly WebhookRecord[]>;
  update(id: string, expectedVersion: number, webhook: NewWebhook): Promise<WebhookRecord | undefined>;
  delete(id: string): Promise<boolean>;
}

export interface CallListQuery extends PageRequest {
  readonly state?: CallState;
  readonly agentId?: string;
  /** createdAt >= since (Unix ms). */
  readonly since?: number;
  /** createdAt < until (Unix ms). */
  readonly until?: number;
}

/**
 * Call records. The call layer writes as the call goes (each append is one small insert, never a rewrite
 * of the record); the REST API reads. Every writer method rejects with CR_STORAGE_NOT_FOUND for a call
 * that was never created.
 */
export interface CallRecordWriter {
  /** State `starting`. Conflict when the id exists. */
  create(call: NewCallRecord): Promise<void>;
  /** `ringing` (an outbound SIP call is alerting). Ignored once the call is active or ended. */
  markRinging(callId: string): Promise<void>;
  /** State `active`, answeredAt. */
  markAnswered(callId: string, at: number): Promise<void>;
  /** State `ended`, endedAt, endReason. A second call changes nothing (the first end wins). */
  markEnded(callId: string, at: number, endReason: string): Promise<void>;
  appendTranscript(callId: string, entry: TranscriptEntry): Promise<void>;
  appendToolCall(callId: string, entry: ToolCallEntry): Promise<void>;
  appendTurn(callId: string, turn: TurnTiming): Promise<void>;
  /** Merge keys into the call's metadata (a key given again is replaced). */
  setMetadata(callId: string, metadata: Readonly<Record<string, string>>): Promise<void>;
}

export interface CallRecordReader {
  /** The whole record: transcript, tool calls and turns in the order they were appended. */
  get(callId: string): Promise<CallRecord | undefined>;
  /** Newest first. */
  list(query: CallListQuery): Promise<Page<CallSummary>>;
}

export interface CallStore extends CallRecordWriter, CallRecordReader {}

export type NodeState = 'up' | 'down';

/** A gateway process sharing this storage, as it registered itself (`cluster.nodeId`). */
export interface NodeRecord {
  readonly id: string;
  /** Its `http.publicUrl`: where joinUrl and controlUrl of its calls point. Null when not configured. */
  readonly publicUrl: string | null;
  /** `down` once it stopped cleanly. */
  readonly state: NodeState;
  readonly startedAt: number;
  /** Last sign of life (Unix ms); a node silent for long is lost (its calls are ended by the others). */
  readonly heartbeatAt: number;
}

/**
 * The registry of nodes. A storage belongs to one node (`self`): the records it creates carry that id, and
 * `register`, `heartbeat` and `leave` speak for that node. Each open storage is one process instance: two
 * live instances cannot hold the same node id.
 */
export interface NodeStore {
  /** This storage's node id. */
  readonly self: string;
  /**
   * Register at start (state `up`, fresh heartbeat). Conflict when another instance holds the id and its
   * heartbeat is not older than `staleBefore`. Calls an earlier instance of this node left unended (it
   * crashed) are ended now with `endReason`; their ids are returned.
   */
  register(node: { readonly publicUrl: string | null; readonly at: number; readonly staleBefore: number; readonly endReason: string }): Promise<readonly string[]>;
  /** Refresh the heartbeat. False when another instance has taken the id over since (this one should stop). */
  heartbeat(at: number): Promise<boolean>;
  /** State `down` (a clean stop). */
  leave(at: number): Promise<void>;
  get(id: string): Promise<NodeRecord | undefined>;
  /** Every node ever registered, by id. */
  list(): Promise<readonly NodeRecord[]>;
  /**
   * End the unended calls of other nodes that are down or whose heartbeat is older than `staleBefore`
   * (state `ended`, `endReason`, endedAt `at`). Returns what was ended. Safe to run on every node at once.
   */
  reapLost(staleBefore: number, at: number, endReason: string): Promise<ReadonlyArray<{ readonly callId: string; readonly nodeId: string }>>;
}
