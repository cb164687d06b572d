import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AgentSpec } from '../../config/agent-schema.ts';
import { errorMessage, isCallroomError } from '../../core/errors.ts';
import type { JoinTokens } from '../../core/join-token.ts';
import type { Logger } from '../../core/logger.ts';
import type { AgentToolRecord, Storage } from '../../storage/types.ts';
import { ApiError, invalid, notFound } from '../api-error.ts';
import { DEFAULT_JOIN_PATH } from '../api-options.ts';
import type { CallsPort, StartCallMedium } from '../calls-port.ts';
import { currentSpec, paged, toCallResource, toCallSummary, type ApiApp } from '../resources.ts';
import { callControl, callCreate, callCreated, callListQuery, callResource, callSummary, idParam, noContent, pageOf, responses } from '../schemas.ts';
import { restoreAgentSecrets } from '../secrets.ts';
import { checkAgentTools, checkModelToolNames } from '../tool-checks.ts';
import { mustGet } from './agents.ts';

export interface CallRoutesOptions {
  readonly storage: Storage;
  readonly calls: CallsPort;
  readonly joinTokens: JoinTokens;
  /** Tokens for the control socket of a live call (client tools and events on SIP calls); absent: none issued. */
  readonly controlTokens?: JoinTokens;
  readonly controlPath?: string;
  readonly logger: Logger;
  readonly maxConcurrentCalls: number;
  readonly maxCallSeconds: number;
  readonly publicUrl?: string;
  readonly joinPath?: string;
  readonly sipTrunks?: readonly string[];
  /**
   * The public URL of the node holding a live call, when another node holds it (several nodes on one
   * database): a controlUrl points there. Undefined: this node's URL.
   */
  readonly callNodeUrl?: (callId: string) => Promise<string | undefined>;
}

/** What the call layer's error codes mean to an API client. */
const CALL_ERRORS: Readonly<Record<string, { status: number; code: ConstructorParameters<typeof ApiError>[1] }>> = {
  CR_CALL_LIMIT: { status: 429, code: 'CR_API_TOO_MANY_CALLS' },
  CR_CALL_DRAINING: { status: 503, code: 'CR_API_UNAVAILABLE' },
  CR_CALL_AGENT_INVALID: { status: 400, code: 'CR_API_VALIDATION' },
  CR_CALL_NO_AGENT: { status: 400, code: 'CR_API_VALIDATION' },
  CR_CALL_TRUNK_UNKNOWN: { status: 400, code: 'CR_API_VALIDATION' },
  CR_CALL_NODE_UNREACHABLE: { status: 503, code: 'CR_API_UNAVAILABLE' },
};

/** /calls: start calls through the call layer (CallsPort), read their records from storage, hang up. */
export function registerCallRoutes(app: ApiApp, o: CallRoutesOptions): void {
  const tags = ['calls'];
  /** Starts in progress: counted with live calls, so parallel POSTs cannot pass the limit together. */
  let starting = 0;

  app.post('/calls', {
    schema: {
      tags,
      operationId: 'createCall',
      summary: 'Start a call: a WebSocket call (returns a single-use joinUrl) or a SIP dial-out',
      body: callCreate,
      response: responses({ 201: callCreated }, [400, 404, 429, 503]),
    },
    handler: async (request, reply) => {
      const body = request.body;
      const maxDurationSeconds = body.maxDurationSeconds ?? o.maxCallSeconds;
      if (maxDurationSeconds > o.maxCallSeconds) throw invalid('maxDurationSeconds', `at most ${o.maxCallSeconds} (limits.maxCallSeconds)`);
      const medium: StartCallMedium = body.medium;
      if (medium.type === 'sip' && o.sipTrunks !== undefined && !o.sipTrunks.includes(medium.trunk)) {
        throw invalid('medium.trunk', 'names no configured trunk');
      }
      const { agent, agentId, tools } = await resolveAgent(body.agentId, body.agent, o);
      if (o.calls.activeCount + starting >= o.maxConcurrentCalls) {
        throw new ApiError(429, 'CR_API_TOO_MANY_CALLS', `at most ${o.maxConcurrentCalls} concurrent calls`, { retryAfterSeconds: 1 });
      }
      starting++;
      let callId: string;
      try {
        ({ callId } = await o.calls.start({ agent, agentId, tools, medium, metadata: body.metadata, maxDurationSeconds }));
      } catch (err) {
        throw callError(err, o.logger);
      } finally {
        starting--;
      }
      reply.code(201).header('location', `/calls/${callId}`);
      const control = controlFor(request, o, callId);
      if (medium.type !== 'websocket') return { callId, ...control };
      const { token, claims } = o.joinTokens.issue(callId);
      return { callId, joinUrl: joinUrl(request, o, token), joinUrlExpiresAt: new Date(claims.exp * 1000).toISOString(), ...control };
    },
  });

  app.get('/calls', {
    schema: {
      tags,
      operationId: 'listCalls',
      summary: 'List call records, newest first, by state, agent and creation time',
      querystring: callListQuery,
      response: responses({ 200: pageOf(callSummary) }, [400]),
    },
    handler: async (request) => {
      const q = request.query;
      const result = await o.storage.calls.list({
        page: q.page,
        limit: q.limit,
        ...(q.state === undefined ? {} : { state: q.state }),
        ...(q.agentId === undefined ? {} : { agentId: q.agentId }),
        ...(q.since === undefined ? {} : { since: Date.parse(q.since) }),
        ...(q.until === undefined ? {} : { until: Date.parse(q.until) }),
      });
      return paged(result.items.map(toCallSummary), result.total, q.page, q.limit);
    },
  });

  app.get('/calls/:id', {
    schema: {
      tags,
      operationId: 'getCall',
      summary: 'A call: state, medium, times, transcript so far, tool calls, end reason, per-turn latency',
      params: z.strictObject({ id: idParam }),
      response: responses({ 200: callResource }, [404]),
    },
    handler: async (request) => {
      const call = await o.storage.calls.get(request.params.id);
      if (call === undefined) throw notFound('call', request.params.id);
      return toCallResource(call);
    },
  });

  app.post('/calls/:id/control', {
    schema: {
      tags,
      operationId: 'issueCallControlUrl',
      summary: "A control socket URL for a live call (client tools and events on any call, SIP included)",
      params: z.strictObject({ id: idParam }),
      response: responses({ 201: callControl }, [404, 409]),
    },
    handler: async (request, reply) => {
      const id = request.params.id;
      const record = await o.storage.calls.get(id);
      if (record === undefined) throw notFound('call', id);
      if (record.state === 'ended') throw new ApiError(409, 'CR_API_CALL_ENDED', 'the call has already ended');
      const { controlUrl, controlUrlExpiresAt } = controlFor(request, o, id, await o.callNodeUrl?.(id));
      if (controlUrl === undefined || controlUrlExpiresAt === undefined) throw new ApiError(409, 'CR_API_CONFLICT', 'control sockets are not served by this gateway');
      return reply.code(201).send({ controlUrl, controlUrlExpiresAt });
    },
  });

  app.delete('/calls/:id', {
    schema: {
      tags,
      operationId: 'hangUpCall',
      summary: 'Hang up a live call',
      params: z.strictObject({ id: idParam }),
      response: responses({ 204: noContent }, [404, 409]),
    },
    handler: async (request, reply) => {
      const id = request.params.id;
      let hungUp: boolean;
      try {
        hungUp = await o.calls.hangup(id);
      } catch (err) {
        throw callError(err, o.logger);
      }
      if (hungUp) return reply.code(204).send(null);
      const record = await o.storage.calls.get(id);
      if (record === undefined) throw notFound('call', id);
      if (record.state === 'ended') throw new ApiError(409, 'CR_API_CALL_ENDED', 'the call has already ended');
      // Neither this node nor the node the record names has it live (that node is gone, or it just ended).
      throw new ApiError(409, 'CR_API_CONFLICT', 'the call is not live on any node');
    },
  });
}

async function resolveAgent(
  agentId: string | undefined,
  inline: AgentSpec | undefined,
  o: CallRoutesOptions,
): Promise<{ agent: AgentSpec; agentId: string | null; tools: readonly AgentToolRecord[] }> {
  if (agentId !== undefined) {
    const record = await mustGet(o.storage, agentId);
    return { agent: currentSpec(record, o.logger), agentId: record.id, tools: await o.storage.agents.listTools(record.id) };
  }
  const agent = inline as AgentSpec;
  restoreAgentSecrets(agent, undefined);
  checkAgentTools(agent, 'agent.');
  checkModelToolNames(agent, []);
  return { agent, agentId: null, tools: [] };
}

function callError(err: unknown, logger: Logger): ApiError {
  if (err instanceof ApiError) return err;
  const mapped = isCallroomError(err) ? CALL_ERRORS[err.code] : undefined;
  if (mapped !== undefined && isCallroomError(err)) {
    return new ApiError(mapped.status, mapped.code, err.message, mapped.status === 429 || mapped.status === 503 ? { retryAfterSeconds: 1 } : {});
  }
  logger.error({ err: errorMessage(err) }, 'call layer failed');
  return new ApiError(500, 'CR_API_INTERNAL', 'the call could not be started');
}

/**
 * A fresh single-use control socket URL for `callId`, when control tokens are issued: at `nodeUrl` (the node
 * holding the call) when given, else at this node.
 */
function controlFor(request: FastifyRequest, o: CallRoutesOptions, callId: string, nodeUrl?: string): { controlUrl?: string; controlUrlExpiresAt?: string } {
  if (o.controlTokens === undefined) return {};
  const { token, claims } = o.controlTokens.issue(callId);
  const own = o.publicUrl !== undefined ? o.publicUrl : `${request.protocol}://${request.host}`;
  const base = (nodeUrl ?? own).replace(/\/+$/, '').replace(/^http/i, 'ws');
  const url = `${base}${o.controlPath ?? '/ws/control'}?token=${token}&callId=${encodeURIComponent(callId)}`;
  return { controlUrl: url, controlUrlExpiresAt: new Date(claims.exp * 1000).toISOString() };
}

function joinUrl(request: FastifyRequest, o: CallRoutesOptions, token: string): string {
  const base = o.publicUrl !== undefined ? o.publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`;
  const ws = base.replace(/^http/i, 'ws');
  return `${ws}${o.joinPath ?? DEFAULT_JOIN_PATH}?token=${token}`;
}
