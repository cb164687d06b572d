import type { AgentSpec, ClientToolSpec, HttpToolSpec } from '../config/agent-schema.ts';
import { errorMessage } from '../core/errors.ts';
import { httpTool } from '../room/http-tool.ts';
import { checkParameterNames } from '../room/tool-parameters.ts';
import type { AgentToolRecord } from '../storage/types.ts';
import { ApiError, invalid } from './api-error.ts';

/**
 * Checks beyond the schema, done by building the tool the way the call layer will (room/http-tool.ts): a
 * definition the API accepts is one that runs. This catches what the schema cannot see: a placeholder
 * without its path parameter, a header a tool may not set, a body parameter on a GET.
 */
export function checkHttpTool(def: HttpToolSpec, path: string): void {
  try {
    httpTool({
      name: def.name,
      description: def.description,
      httpMethod: def.httpMethod,
      baseUrlPattern: def.baseUrlPattern,
      dynamicParameters: def.dynamicParameters,
      automaticParameters: def.automaticParameters.map((p) => ({ name: p.name, location: p.location, knownValue: p.knownValue ?? (() => undefined) })),
      ...(def.timeoutMs === undefined ? {} : { timeoutMs: def.timeoutMs }),
    });
  } catch (err) {
    throw invalid(path, errorMessage(err));
  }
}

export function checkClientTool(def: ClientToolSpec, path: string): void {
  try {
    checkParameterNames(
      def.name,
      def.dynamicParameters.map((p) => ({ ...p, location: 'body' as const })),
      [],
    );
  } catch (err) {
    throw invalid(path, errorMessage(err));
  }
}

/** Every inline tool of an agent, checked as above. */
export function checkAgentTools(spec: AgentSpec, prefix = ''): void {
  spec.tools.http.forEach((t, i) => checkHttpTool(t, `${prefix}tools.http.${i}`));
  spec.tools.client.forEach((t, i) => checkClientTool(t, `${prefix}tools.client.${i}`));
}

/**
 * The model sees one flat list of tool names per agent: inline HTTP and client tools, system tools and
 * assigned API tools. A name twice is refused (409): the model could not tell them apart.
 */
export function checkModelToolNames(spec: AgentSpec, custom: readonly AgentToolRecord[]): void {
  const seen = new Map<string, string>();
  const add = (name: string, from: string): void => {
    const before = seen.get(name);
    if (before !== undefined) throw new ApiError(409, 'CR_API_CONFLICT', `agent ${spec.name}: model tool name ${name} is used by both ${before} and ${from}`);
    seen.set(name, from);
  };
  for (const t of spec.tools.http) add(t.name, 'an inline HTTP tool');
  for (const t of spec.tools.client) add(t.name, 'an inline client tool');
  for (const s of spec.tools.system) add(s, 'a system tool');
  for (const t of custom) add(t.definition.name, `assigned tool ${t.id}`);
}
