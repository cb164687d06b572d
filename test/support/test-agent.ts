import type { AgentSpecInput } from '../../src/config/agent-schema.ts';
import { agentSchema } from '../../src/config/agent-schema.ts';
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import type { LlmProvider, SttProvider, TtsProvider } from '../../src/providers/types.ts';
import type { Tool } from '../../src/room/tool.ts';
import { ToolPolicy } from '../../src/room/tool-policy.ts';

/** An agent runtime for tests: the spec from `spec` (defaults applied by the real schema) and the given providers. */
export function testAgent(o: {
  spec?: Partial<AgentSpecInput>;
  llm: LlmProvider;
  stt: readonly SttProvider[];
  tts: readonly TtsProvider[];
  tools?: readonly Tool[];
}): AgentRuntime {
  const spec = agentSchema.parse({ name: 'agent', ...(o.spec ?? {}) });
  return { spec, llm: o.llm, stt: o.stt, tts: o.tts, tools: o.tools ?? [], policy: ToolPolicy.permitAll() };
}
