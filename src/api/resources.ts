import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { agentSchema, type AgentSpec } from '../config/agent-schema.ts';
import { SYSTEM_TOOLS } from '../config/system-tools.ts';
import type { Logger } from '../core/logger.ts';
import type { CallRecord, CallSummary, TurnTiming } from '../storage/call-record.ts';
import type { AgentRecord, AgentToolRecord } from '../storage/types.ts';
import { maskAgentSpec, maskToolDefinition } from './secrets.ts';
import type { EndpointView } from './webhooks/dispatcher.ts';

/** The API's fastify context (its own validator, parser, error handler and auth hook). */
export type ApiApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

export function paged<T>(items: readonly T[], total: number, page: number, limit: number) {
  return { items, page, limit, total, totalPages: Math.ceil(total / limit) };
}

/**
 * A stored agent's spec under the current schema: defaults added since it was stored are filled in. A
 * spec that no longer validates (the schema tightened) is returned as stored rather than hidden.
 */
export function currentSpec(record: AgentRecord, logger: Logger): AgentSpec {
  const parsed = agentSchema.safeParse(record.spec);
  if (parsed.success) return parsed.data;
  logger.warn({ agentId: record.id }, 'stored agent does not validate under the current schema');
  return record.spec;
}

export function toAgentResource(record: AgentRecord, logger: Logger) {
  return { ...maskAgentSpec(currentSpec(record, logger)), id: record.id, createdAt: iso(record.createdAt), updatedAt: iso(record.updatedAt) };
}

export function toToolResource(tool: AgentToolRecord) {
  return { id: tool.id, name: tool.name, ...maskToolDefinition(tool), createdAt: iso(tool.createdAt), updatedAt: iso(tool.updatedAt) };
}

export function systemToolResources(names: readonly (keyof typeof SYSTEM_TOOLS)[] = Object.keys(SYSTEM_TOOLS) as (keyof typeof SYSTEM_TOOLS)[]) {
  return names.map((n) => {
    const s = SYSTEM_TOOLS[n];
    return { name: s.name, description: s.description, parameters: s.parameters as Record<string, unknown>, media: [...s.media] };
  });
}

export function toCallSummary(call: CallSummary) {
  return {
    id: call.id,
    agentId: call.agentId,
    agentName: call.agentName,
    medium: call.medium,
    state: call.state,
    metadata: call.metadata,
    createdAt: iso(call.createdAt),
    answeredAt: isoOrNull(call.answeredAt),
    endedAt: isoOrNull(call.endedAt),
    endReason: call.endReason,
    durationMs: call.endedAt === null ? null : Math.max(0, call.endedAt - call.createdAt),
    nodeId: call.nodeId,
  };
}

export function toCallResource(call: CallRecord) {
  return { ...toCallSummary(call), transcript: call.transcript, toolCalls: call.toolCalls, turns: call.turns.map(waterfall) };
}

/** A turn's marks as a waterfall: each mark's offset from the turn's first mark and from the one before. */
function waterfall(turn: TurnTiming) {
  const first = turn.marks[0]?.atMs ?? 0;
  let previous = first;
  const marks = turn.marks.map((m) => {
    const out = { name: m.name, atMs: m.atMs, sinceTurnStartMs: m.atMs - first, sincePreviousMs: m.atMs - previous };
    previous = m.atMs;
    return out;
  });
  return { turn: turn.turn, totalMs: (turn.marks.at(-1)?.atMs ?? first) - first, marks };
}

/** URL with any user:password replaced (they are credentials). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '****';
    u.password = '';
    return u.toString();
  } catch {
    return '****';
  }
}

export function toWebhookResource(view: EndpointView, stored: { createdAt: number; updatedAt: number } | undefined) {
  const s = view.stats;
  return {
    id: view.target.id,
    url: maskUrl(view.target.url),
    events: view.target.events === null ? null : [...view.target.events],
    source: view.source,
    createdAt: stored === undefined ? null : iso(stored.createdAt),
    updatedAt: stored === undefined ? null : iso(stored.updatedAt),
    stats: { ...s, lastSuccessAt: isoOrNull(s.lastSuccessAt), lastFailureAt: isoOrNull(s.lastFailureAt) },
  };
}
