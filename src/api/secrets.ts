import type { AgentSpec } from '../config/agent-schema.ts';
import type { AgentToolDefinition } from '../storage/types.ts';
import { invalid } from './api-error.ts';
import { isPlainObject } from './merge-patch.ts';

/**
 * Secrets inside agents and tools (automatic parameter values such as API keys, an agent's own LLM key,
 * MCP server headers) are never returned in full: GET shows `****` and, for long values, the last four
 * characters. A client that sends a masked value back unchanged (a GET, edited, PUT back as a PATCH)
 * keeps the stored secret; any other masked-looking value is refused, so a mask is never stored as a key.
 */

const MASK = '****';
const SHOW_TAIL_FROM = 16;

export function maskSecret(value: string): string {
  return value.length >= SHOW_TAIL_FROM ? `${MASK}${value.slice(-4)}` : MASK;
}

function isMasked(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(MASK);
}

/**
 * An agent spec with every secret masked (for responses). Written against what is there rather than what the
 * type promises: a spec stored under an older schema that no longer validates is still masked, never leaked.
 */
export function maskAgentSpec(spec: AgentSpec): AgentSpec {
  const llm = spec.llm as AgentSpec['llm'] | undefined;
  const tools = spec.tools as Partial<AgentSpec['tools']> | undefined;
  return {
    ...spec,
    ...(llm === undefined ? {} : { llm: typeof llm.apiKey === 'string' ? { ...llm, apiKey: maskSecret(llm.apiKey) } : llm }),
    ...(tools === undefined
      ? {}
      : {
          tools: {
            ...tools,
            http: (tools.http ?? []).map((t) => ({
              ...t,
              automaticParameters: (t.automaticParameters ?? []).map((p) => (typeof p.knownValue === 'string' ? { ...p, knownValue: maskSecret(p.knownValue) } : p)),
            })),
            mcp: (tools.mcp ?? []).map((m) => ({ ...m, headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, maskSecret(String(v))])) })),
          } as AgentSpec['tools'],
        }),
  };
}

export function maskToolDefinition(tool: AgentToolDefinition): AgentToolDefinition {
  if (tool.type === 'client') return { type: 'client', definition: tool.definition };
  const d = tool.definition;
  return {
    type: 'http',
    definition: { ...d, automaticParameters: d.automaticParameters.map((p) => (p.knownValue === undefined ? p : { ...p, knownValue: maskSecret(p.knownValue) })) },
  };
}

/**
 * In an unvalidated agent body (create or merged patch), put stored secrets back where the body carries
 * their mask; refuse other masks. Matching is by name (tool and parameter, MCP server and header), so a
 * reordered list still finds its secrets. Mutates `body`.
 */
export function restoreAgentSecrets(body: unknown, stored: AgentSpec | undefined): void {
  if (!isPlainObject(body)) return;
  const llm = body['llm'];
  if (isPlainObject(llm)) restore(llm, 'apiKey', stored?.llm.apiKey, 'llm.apiKey');
  const tools = body['tools'];
  if (!isPlainObject(tools)) return;
  forEachNamed(tools['http'], (tool, name, i) => {
    const storedTool = stored?.tools.http.find((t) => t.name === name);
    forEachNamed(tool['automaticParameters'], (param, pname, j) => {
      const storedParam = storedTool?.automaticParameters.find((p) => p.name === pname);
      restore(param, 'knownValue', storedParam?.knownValue, `tools.http.${i}.automaticParameters.${j}.knownValue`);
    });
  });
  forEachNamed(tools['mcp'], (server, name, i) => {
    const headers = server['headers'];
    if (!isPlainObject(headers)) return;
    const storedHeaders = stored?.tools.mcp.find((m) => m.name === name)?.headers ?? {};
    for (const key of Object.keys(headers)) restore(headers, key, storedHeaders[key], `tools.mcp.${i}.headers.${key}`);
  });
}

/** The same for a tool body's `definition` (HTTP tools' automatic parameters). Mutates `definition`. */
export function restoreToolSecrets(definition: unknown, stored: AgentToolDefinition | undefined): void {
  if (!isPlainObject(definition)) return;
  const storedParams = stored?.type === 'http' ? stored.definition.automaticParameters : [];
  forEachNamed(definition['automaticParameters'], (param, pname, j) => {
    restore(param, 'knownValue', storedParams.find((p) => p.name === pname)?.knownValue, `definition.automaticParameters.${j}.knownValue`);
  });
}

function restore(obj: Record<string, unknown>, key: string, stored: string | undefined, path: string): void {
  const value = obj[key];
  if (!isMasked(value)) return;
  if (stored !== undefined && maskSecret(stored) === value) obj[key] = stored;
  else throw invalid(path, 'a masked secret can only be sent back unchanged; send the real value to change it');
}

function forEachNamed(list: unknown, fn: (item: Record<string, unknown>, name: unknown, index: number) => void): void {
  if (!Array.isArray(list)) return;
  list.forEach((item, i) => {
    if (isPlainObject(item)) fn(item, item['name'], i);
  });
}
