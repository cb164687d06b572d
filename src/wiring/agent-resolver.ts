/**
 * Which agent answers a call: the agent named by what the caller dialled (`sip:<name>@host`, matched
 * without regard to case) from the config file or, when given, the API's stored agents; anything else
 * reaches the default agent (`defaultAgent`, else the first in the config).
 */
import type { AgentSpec } from '../config/agent-schema.ts';
import type { AgentResolver } from '../call/agent-runtime.ts';
import type { AgentBuilder } from './agent-builder.ts';

export interface AgentResolverOptions {
  readonly agents: readonly AgentSpec[];
  readonly defaultAgent: string | undefined;
  readonly builder: AgentBuilder;
  /** Agents stored through the REST API, by name. */
  readonly lookup?: (name: string) => Promise<AgentSpec | undefined>;
}

export function createAgentResolver(o: AgentResolverOptions): AgentResolver {
  const byName = new Map(o.agents.map((a) => [a.name.toLowerCase(), a]));
  const fallback = o.defaultAgent === undefined ? o.agents[0] : byName.get(o.defaultAgent.toLowerCase());
  return async (dialled) => {
    const name = dialled.toLowerCase();
    let spec = name === '' ? undefined : byName.get(name);
    if (spec === undefined && name !== '' && o.lookup !== undefined) spec = await o.lookup(dialled);
    spec ??= fallback;
    return spec === undefined ? undefined : o.builder.build(spec);
  };
}
