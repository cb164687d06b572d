/**
 * An agent ready to take calls: its settings (the agent spec) with the providers and tools the composition
 * root built for it. The call layer never picks a vendor: `main.ts` turns an `AgentSpec` into this (and the
 * REST API's agents go through the same builder).
 */
import type { AgentSpec } from '../config/agent-schema.ts';
import type { LlmProvider, RealtimeProvider, SttProvider, TtsProvider } from '../providers/types.ts';
import type { Tool, ToolHandler } from '../room/tool.ts';
import type { ToolPolicy } from '../room/tool-policy.ts';

export interface AgentRuntime {
  readonly spec: AgentSpec;
  readonly llm: LlmProvider;
  /** Recognisers in order of preference (the first that hears the call's audio serves it). */
  readonly stt: readonly SttProvider[];
  /** Voices in order of preference (a failing one hands over to the next). */
  readonly tts: readonly TtsProvider[];
  /** Tools that do not depend on the call: HTTP tools, MCP tools, demo tools. */
  readonly tools: readonly Tool[];
  /** Handler for tool definitions answered elsewhere (MCP servers). */
  readonly toolHandler?: ToolHandler;
  readonly policy: ToolPolicy;
  /**
   * Set when the agent talks speech-to-speech (`spec.realtime`): calls run a `RealtimeCallSession` on this
   * model instead of the cascade (llm, stt and tts are then unused). Its settings are `spec.realtime`.
   */
  readonly realtime?: RealtimeProvider;
}

/** Finds the agent for a call, by the name dialled (or given by the medium); '' or unknown names get the default. */
export type AgentResolver = (dialled: string) => Promise<AgentRuntime | undefined>;
