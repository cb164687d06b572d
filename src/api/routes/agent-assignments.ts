import { z } from 'zod';
import type { Logger } from '../../core/logger.ts';
import { isStorageError } from '../../storage/storage-error.ts';
import type { AgentRecord, AgentToolRecord, Storage } from '../../storage/types.ts';
import { ApiError, notFound } from '../api-error.ts';
import { currentSpec, systemToolResources, toToolResource, type ApiApp } from '../resources.ts';
import { agentToolsView, assignToolsBody, idParam, noContent, responses } from '../schemas.ts';
import { checkModelToolNames } from '../tool-checks.ts';
import { mustGet } from './agents.ts';

export interface AssignmentRoutesOptions {
  readonly storage: Storage;
  readonly logger: Logger;
}

/** /agents/{id}/tools: which API tools an agent has, alongside its system tools. */
export function registerAssignmentRoutes(app: ApiApp, o: AssignmentRoutesOptions): void {
  const tags = ['agents'];

  app.get('/agents/:id/tools', {
    schema: {
      tags,
      operationId: 'listAgentToolAssignments',
      summary: "An agent's assigned tools and its system tools",
      params: z.strictObject({ id: idParam }),
      response: responses({ 200: agentToolsView }, [404]),
    },
    handler: async (request) => {
      const agent = await mustGet(o.storage, request.params.id);
      return view(agent, await o.storage.agents.listTools(agent.id), o.logger);
    },
  });

  app.post('/agents/:id/tools', {
    schema: {
      tags,
      operationId: 'assignAgentTools',
      summary: 'Assign tools to an agent: all of them, or none when any id is unknown (404)',
      params: z.strictObject({ id: idParam }),
      body: assignToolsBody,
      response: responses({ 200: agentToolsView }, [400, 404, 409]),
    },
    handler: async (request) => {
      const agent = await mustGet(o.storage, request.params.id);
      const ids = request.body.toolIds;
      const found = await Promise.all(ids.map((id) => o.storage.tools.get(id)));
      const missing = ids.flatMap((id, i) => (found[i] === undefined ? [{ in: 'body' as const, path: `toolIds.${i}`, message: `no tool ${id}` }] : []));
      if (missing.length > 0) throw new ApiError(404, 'CR_API_NOT_FOUND', `${missing.length} of the tools do not exist; none was assigned`, { details: missing });
      const assigned = await o.storage.agents.listTools(agent.id);
      const adding = (found as AgentToolRecord[]).filter((t, i) => !assigned.some((a) => a.id === t.id) && ids.indexOf(t.id) === i);
      checkModelToolNames(currentSpec(agent, o.logger), [...assigned, ...adding]);
      try {
        await o.storage.agents.assignTools(agent.id, ids);
      } catch (err) {
        // A tool or the agent deleted in between: nothing was assigned.
        if (isStorageError(err, 'not_found')) throw new ApiError(404, 'CR_API_NOT_FOUND', 'a tool or the agent no longer exists; none was assigned');
        throw err;
      }
      return view(agent, await o.storage.agents.listTools(agent.id), o.logger);
    },
  });

  app.delete('/agents/:id/tools/:toolId', {
    schema: {
      tags,
      operationId: 'unassignAgentTool',
      summary: 'Take a tool away from an agent',
      params: z.strictObject({ id: idParam, toolId: idParam }),
      response: responses({ 204: noContent }, [404]),
    },
    handler: async (request, reply) => {
      await mustGet(o.storage, request.params.id);
      if (!(await o.storage.agents.unassignTool(request.params.id, request.params.toolId))) {
        throw notFound('tool assignment', request.params.toolId);
      }
      return reply.code(204).send(null);
    },
  });
}

function view(agent: AgentRecord, custom: readonly AgentToolRecord[], logger: Logger) {
  return { custom: custom.map(toToolResource), system: systemToolResources(currentSpec(agent, logger).tools.system) };
}
