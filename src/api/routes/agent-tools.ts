import { z } from 'zod';
import type { Logger } from '../../core/logger.ts';
import { isStorageError } from '../../storage/storage-error.ts';
import type { AgentToolDefinition, AgentToolRecord, NewAgentTool, Storage } from '../../storage/types.ts';
import { ApiError, invalid, notFound } from '../api-error.ts';
import { issueDetails } from '../error-handler.ts';
import { mergePatch } from '../merge-patch.ts';
import { currentSpec, paged, systemToolResources, toToolResource, type ApiApp } from '../resources.ts';
import {
  agentToolCreate,
  agentToolListQuery,
  agentToolPatch,
  agentToolResource,
  idParam,
  noContent,
  pageOf,
  responses,
  systemToolResource,
} from '../schemas.ts';
import { restoreToolSecrets } from '../secrets.ts';
import { checkClientTool, checkHttpTool, checkModelToolNames } from '../tool-checks.ts';
import { UPDATE_RETRIES } from './agents.ts';

export interface AgentToolRoutesOptions {
  readonly storage: Storage;
  readonly logger: Logger;
}

const params = z.strictObject({ id: idParam });

/** /agent-tools: tools managed through the API, attached to agents by assignment; and the built-in system tools. */
export function registerAgentToolRoutes(app: ApiApp, o: AgentToolRoutesOptions): void {
  const tags = ['agent tools'];

  app.get('/agent-tools', {
    schema: {
      tags,
      operationId: 'listAgentTools',
      summary: 'List tools, oldest first, filtered by search and type',
      querystring: agentToolListQuery,
      response: responses({ 200: pageOf(agentToolResource) }, [400]),
    },
    handler: async (request) => {
      const { page, limit, search, type } = request.query;
      const result = await o.storage.tools.list({ page, limit, ...(search === undefined ? {} : { search }), ...(type === undefined ? {} : { type }) });
      return paged(result.items.map(toToolResource), result.total, page, limit);
    },
  });

  app.get('/agent-tools/system', {
    schema: {
      tags,
      operationId: 'listSystemTools',
      summary: 'The built-in tools (hangUp, transferCall, playDtmf) with their descriptions and parameters',
      response: responses({ 200: z.object({ items: z.array(systemToolResource) }) }, []),
    },
    handler: async () => ({ items: systemToolResources() }),
  });

  app.post('/agent-tools', {
    schema: {
      tags,
      operationId: 'createAgentTool',
      summary: 'Create an HTTP tool or a client tool',
      description:
        'HTTP tools call `baseUrlPattern` with `httpMethod`; each `{placeholder}` needs a path parameter. Automatic parameters (`knownValue`) are hidden from the model and masked in answers. Client tools have no HTTP fields and no parameter locations.',
      body: agentToolCreate,
      response: responses({ 201: agentToolResource }, [400, 409]),
    },
    handler: async (request, reply) => {
      const body = request.body;
      restoreToolSecrets(body.definition, undefined);
      const tool = checked({ name: body.name ?? body.definition.name, tool: asDefinition(body) });
      const record = await o.storage.tools.create(tool);
      return reply.code(201).header('location', `/agent-tools/${record.id}`).send(toToolResource(record));
    },
  });

  app.get('/agent-tools/:id', {
    schema: { tags, operationId: 'getAgentTool', summary: 'Get a tool (secrets masked)', params, response: responses({ 200: agentToolResource }, [404]) },
    handler: async (request) => toToolResource(await mustGetTool(o.storage, request.params.id)),
  });

  app.patch('/agent-tools/:id', {
    schema: {
      tags,
      operationId: 'updateAgentTool',
      summary: 'Change only the given fields of a tool (JSON merge patch of name and definition)',
      params,
      body: agentToolPatch,
      response: responses({ 200: agentToolResource }, [400, 404, 409]),
    },
    handler: async (request) => {
      for (let attempt = 1; ; attempt++) {
        const current = await mustGetTool(o.storage, request.params.id);
        if (request.body.type !== undefined && request.body.type !== current.type) throw invalid('type', `a ${current.type} tool stays a ${current.type} tool`);
        const merged = {
          type: current.type,
          name: request.body.name ?? current.name,
          definition: request.body.definition === undefined ? current.definition : mergePatch(current.definition, request.body.definition),
        };
        restoreToolSecrets(merged.definition, current);
        const parsed = agentToolCreate.safeParse(merged);
        if (!parsed.success) throw new ApiError(400, 'CR_API_VALIDATION', 'the request is not valid', { details: issueDetails(parsed.error.issues, 'body') });
        const tool = checked({ name: parsed.data.name ?? current.name, tool: asDefinition(parsed.data) });
        if (tool.tool.definition.name !== current.definition.name) await checkAssignedAgents(o, current.id, tool);
        try {
          const updated = await o.storage.tools.update(current.id, current.version, tool);
          if (updated === undefined) throw notFound('tool', request.params.id);
          return toToolResource(updated);
        } catch (err) {
          if (!(await movedOn(err, current, o.storage)) || attempt >= UPDATE_RETRIES) throw err;
        }
      }
    },
  });

  app.delete('/agent-tools/:id', {
    schema: {
      tags,
      operationId: 'deleteAgentTool',
      summary: 'Delete a tool; refused (409) while it is assigned to any agent',
      params,
      response: responses({ 204: noContent }, [404, 409]),
    },
    handler: async (request, reply) => {
      if (!(await o.storage.tools.delete(request.params.id))) throw notFound('tool', request.params.id);
      return reply.code(204).send(null);
    },
  });
}

export async function mustGetTool(storage: Storage, id: string): Promise<AgentToolRecord> {
  const record = await storage.tools.get(id);
  if (record === undefined) throw notFound('tool', id);
  return record;
}

function asDefinition(body: z.output<typeof agentToolCreate>): AgentToolDefinition {
  return body.type === 'http' ? { type: 'http', definition: body.definition } : { type: 'client', definition: body.definition };
}

/** A tool the API accepts is one the call layer can build (see tool-checks.ts); masks never reach storage. */
function checked(tool: NewAgentTool): NewAgentTool {
  if (tool.tool.type === 'http') checkHttpTool(tool.tool.definition, 'definition');
  else checkClientTool(tool.tool.definition, 'definition');
  return tool;
}

/** A new model tool name must not collide with another tool of any agent the tool is assigned to. */
async function checkAssignedAgents(o: AgentToolRoutesOptions, toolId: string, tool: NewAgentTool): Promise<void> {
  for (const agentId of await o.storage.tools.assignedTo(toolId)) {
    const agent = await o.storage.agents.get(agentId);
    if (agent === undefined) continue;
    const others = (await o.storage.agents.listTools(agentId)).filter((t) => t.id !== toolId);
    const renamed = { id: toolId, name: tool.name, version: 0, createdAt: 0, updatedAt: 0, ...tool.tool } as AgentToolRecord;
    checkModelToolNames(currentSpec(agent, o.logger), [...others, renamed]);
  }
}

async function movedOn(err: unknown, read: AgentToolRecord, storage: Storage): Promise<boolean> {
  if (!isStorageError(err, 'conflict')) return false;
  const now = await storage.tools.get(read.id);
  return now !== undefined && now.version !== read.version;
}
