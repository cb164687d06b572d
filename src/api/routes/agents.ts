import { z } from 'zod';
import { agentSchema, type AgentSpec } from '../../config/agent-schema.ts';
import type { Logger } from '../../core/logger.ts';
import { isStorageError } from '../../storage/storage-error.ts';
import type { AgentRecord, Storage } from '../../storage/types.ts';
import { ApiError, notFound } from '../api-error.ts';
import { issueDetails } from '../error-handler.ts';
import { mergePatch } from '../merge-patch.ts';
import { currentSpec, paged, toAgentResource, type ApiApp } from '../resources.ts';
import { agentListQuery, agentPatch, agentResource, idParam, noContent, pageOf, responses } from '../schemas.ts';
import { restoreAgentSecrets } from '../secrets.ts';
import { checkAgentTools, checkModelToolNames } from '../tool-checks.ts';

export interface AgentRoutesOptions {
  readonly storage: Storage;
  readonly logger: Logger;
  readonly reservedAgentNames: ReadonlySet<string>;
}

/** Optimistic updates retried this often when another request changed the same record in between. */
export const UPDATE_RETRIES = 3;

const params = z.strictObject({ id: idParam });

/** /agents: create, list, get, merge-patch and delete agents (the same shape as config agents). */
export function registerAgentRoutes(app: ApiApp, o: AgentRoutesOptions): void {
  const tags = ['agents'];

  app.post('/agents', {
    schema: { tags, operationId: 'createAgent', summary: 'Create an agent', body: agentSchema, response: responses({ 201: agentResource }, [400, 409]) },
    handler: async (request, reply) => {
      const spec = request.body;
      restoreAgentSecrets(spec, undefined);
      checkAgent(spec, o);
      const record = await o.storage.agents.create(spec);
      return reply.code(201).header('location', `/agents/${record.id}`).send(toAgentResource(record, o.logger));
    },
  });

  app.get('/agents', {
    schema: { tags, operationId: 'listAgents', summary: 'List agents, oldest first', querystring: agentListQuery, response: responses({ 200: pageOf(agentResource) }, [400]) },
    handler: async (request) => {
      const { page, limit, search } = request.query;
      const result = await o.storage.agents.list({ page, limit, ...(search === undefined ? {} : { search }) });
      return paged(
        result.items.map((a) => toAgentResource(a, o.logger)),
        result.total,
        page,
        limit,
      );
    },
  });

  app.get('/agents/:id', {
    schema: { tags, operationId: 'getAgent', summary: 'Get an agent (secrets masked)', params, response: responses({ 200: agentResource }, [404]) },
    handler: async (request) => toAgentResource(await mustGet(o.storage, request.params.id), o.logger),
  });

  app.patch('/agents/:id', {
    schema: {
      tags,
      operationId: 'updateAgent',
      summary: 'Change only the given fields of an agent (JSON merge patch)',
      description:
        'Keys present replace the stored ones, nested objects merge, null restores the default, arrays replace whole. A masked secret sent back unchanged keeps the stored secret.',
      params,
      body: agentPatch,
      response: responses({ 200: agentResource }, [400, 404, 409]),
    },
    handler: async (request) => {
      for (let attempt = 1; ; attempt++) {
        const current = await mustGet(o.storage, request.params.id);
        const merged = mergePatch(currentSpec(current, o.logger), request.body);
        restoreAgentSecrets(merged, current.spec);
        const parsed = agentSchema.safeParse(merged);
        if (!parsed.success) throw new ApiError(400, 'CR_API_VALIDATION', 'the request is not valid', { details: issueDetails(parsed.error.issues, 'body') });
        checkAgent(parsed.data, o);
        checkModelToolNames(parsed.data, await o.storage.agents.listTools(current.id));
        try {
          const updated = await o.storage.agents.update(current.id, current.version, parsed.data);
          if (updated === undefined) throw notFound('agent', request.params.id);
          return toAgentResource(updated, o.logger);
        } catch (err) {
          if (!(await movedOn(err, current, o.storage)) || attempt >= UPDATE_RETRIES) throw err;
        }
      }
    },
  });

  app.delete('/agents/:id', {
    schema: { tags, operationId: 'deleteAgent', summary: 'Delete an agent (its tool assignments go with it)', params, response: responses({ 204: noContent }, [404]) },
    handler: async (request, reply) => {
      if (!(await o.storage.agents.delete(request.params.id))) throw notFound('agent', request.params.id);
      return reply.code(204).send(null);
    },
  });
}

export async function mustGet(storage: Storage, id: string): Promise<AgentRecord> {
  const record = await storage.agents.get(id);
  if (record === undefined) throw notFound('agent', id);
  return record;
}

function checkAgent(spec: AgentSpec, o: AgentRoutesOptions): void {
  if (o.reservedAgentNames.has(spec.name.toLowerCase())) {
    throw new ApiError(409, 'CR_API_CONFLICT', `agent name ${spec.name} is taken by an agent in the config file`);
  }
  checkAgentTools(spec);
  checkModelToolNames(spec, []);
}

/** After a conflict on update: true when the record's version moved on (retry), false for a real conflict (a taken name). */
async function movedOn(err: unknown, read: AgentRecord, storage: Storage): Promise<boolean> {
  if (!isStorageError(err, 'conflict')) return false;
  const now = await storage.agents.get(read.id);
  return now !== undefined && now.version !== read.version;
}
