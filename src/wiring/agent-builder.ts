/**
 * Turns an agent spec (config file or REST API) into an `AgentRuntime`: its model (the demo agent, any
 * OpenAI-compatible server, or Gemini), its recognisers and voices from the shared speech providers, its
 * HTTP tools (automatic parameters from the call's values or literals) and MCP servers, and its tool policy.
 * Runtimes are cached per spec object, so every call of an agent shares its MCP connections.
 */
import type { AgentSpec, HttpToolSpec } from '../config/agent-schema.ts';
import type { Config } from '../config/schema.ts';
import { CallroomError, errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { DemoLlm } from '../providers/demo/demo-llm.ts';
import { GeminiLlm } from '../providers/gemini/gemini-llm.ts';
import { GeminiLive } from '../providers/gemini-live/gemini-live.ts';
import { OpenAiLlm } from '../providers/openai/openai-llm.ts';
import { OpenAiRealtime } from '../providers/openai-realtime/openai-realtime.ts';
import type { LlmProvider, RealtimeProvider, SttProvider, TtsProvider } from '../providers/types.ts';
import { TimeoutLlm } from '../providers/wrappers/with-timeout.ts';
import { httpTool } from '../room/http-tool.ts';
import { McpToolProvider } from '../room/mcp-tools.ts';
import { globToRegExp } from '../room/glob.ts';
import type { Tool } from '../room/tool.ts';
import { ToolPolicy } from '../room/tool-policy.ts';
import type { AgentRuntime } from '../call/agent-runtime.ts';
import { demoTools } from '../call/demo-tools.ts';
import type { SpeechProviders, SttName, TtsName } from './speech-providers.ts';

export interface AgentBuilderOptions {
  readonly config: Config;
  readonly speech: SpeechProviders;
  readonly logger: Logger;
}

export class AgentBuilder {
  readonly #o: AgentBuilderOptions;
  readonly #cache = new WeakMap<AgentSpec, Promise<AgentRuntime>>();
  readonly #mcp: McpToolProvider[] = [];

  constructor(options: AgentBuilderOptions) {
    this.#o = options;
  }

  /** The runtime of `spec` (built once per spec object). Rejects with CR_CALL_AGENT_INVALID naming what is wrong. */
  build(spec: AgentSpec): Promise<AgentRuntime> {
    let p = this.#cache.get(spec);
    if (p === undefined) {
      p = this.#build(spec);
      this.#cache.set(spec, p);
      p.catch(() => this.#cache.delete(spec));
    }
    return p;
  }

  async close(): Promise<void> {
    for (const m of this.#mcp.splice(0)) await m.close().catch(() => undefined);
  }

  async #build(spec: AgentSpec): Promise<AgentRuntime> {
    const log = this.#o.logger.child({ agent: spec.name });
    const tools: Tool[] = spec.tools.http.map((t) => httpTool(httpToolOptions(t)));
    // The demo tools belong to the demo model; a speech-to-speech agent does not use it.
    if (spec.llm.provider === 'demo' && spec.realtime === undefined) tools.push(...demoTools());
    for (const server of spec.tools.mcp) {
      try {
        const filters = server.toolFilter.map(globToRegExp);
        const mcp = await McpToolProvider.connect({
          url: server.url,
          transport: server.transport,
          headers: server.headers,
          logger: log,
          ...(filters.length === 0 ? {} : { toolFilter: (name: string) => filters.some((re) => re.test(name)) }),
        });
        this.#mcp.push(mcp);
        tools.push(...mcp.getTools());
      } catch (err) {
        // An MCP server that is down leaves its tools out; the agent still takes calls.
        log.warn({ mcp: server.name, err: errorMessage(err) }, 'mcp server unavailable: its tools are not offered');
      }
    }
    return {
      spec,
      llm: this.#llm(spec),
      stt: this.#pick('stt', spec.stt.providers, this.#o.speech.stt, this.#o.config.providers.sherpa?.sttModelDir !== undefined) as SttProvider[],
      tts: this.#pick('tts', spec.tts.providers, this.#o.speech.tts, this.#o.config.providers.sherpa?.ttsModelDir !== undefined) as TtsProvider[],
      tools,
      policy: new ToolPolicy({ allow: spec.tools.allow, deny: spec.tools.deny }),
      ...(spec.realtime === undefined ? {} : { realtime: this.#realtime(spec) }),
    };
  }

  /** The agent's speech-to-speech model: the agent's own key/URL, else `providers.openaiRealtime` / `providers.geminiLive`. */
  #realtime(spec: AgentSpec): RealtimeProvider {
    const p = this.#o.config.providers;
    const r = spec.realtime;
    if (r === undefined) throw invalid(spec, 'no realtime section');
    const logger = this.#o.logger.child({ agent: spec.name });
    if (r.provider === 'openai') {
      const apiKey = r.apiKey ?? p.openaiRealtime?.apiKey;
      if (apiKey === undefined) throw invalid(spec, 'realtime.provider openai needs providers.openaiRealtime.apiKey or realtime.apiKey');
      const baseUrl = r.baseUrl ?? p.openaiRealtime?.baseUrl;
      const voice = p.openaiRealtime?.voice;
      return new OpenAiRealtime({ apiKey, model: p.openaiRealtime?.model ?? 'gpt-realtime', logger, ...(baseUrl === undefined ? {} : { baseUrl }), ...(voice === undefined ? {} : { voice }) });
    }
    const apiKey = r.apiKey ?? p.geminiLive?.apiKey;
    if (apiKey === undefined) throw invalid(spec, 'realtime.provider gemini needs providers.geminiLive.apiKey or realtime.apiKey');
    const baseUrl = r.baseUrl ?? p.geminiLive?.baseUrl;
    const voice = p.geminiLive?.voice;
    return new GeminiLive({ apiKey, model: p.geminiLive?.model ?? 'gemini-live-2.5-flash-preview', logger, ...(baseUrl === undefined ? {} : { baseUrl }), ...(voice === undefined ? {} : { voice }) });
  }

  #llm(spec: AgentSpec): LlmProvider {
    const p = this.#o.config.providers;
    const l = spec.llm;
    let llm: LlmProvider;
    if (l.provider === 'demo') return new DemoLlm();
    if (l.provider === 'openai') {
      const apiKey = l.apiKey ?? p.openai?.apiKey;
      // A local OpenAI-compatible server (vLLM, Ollama, llama.cpp) often needs no key: any string will do.
      const baseUrl = l.baseUrl ?? p.openai?.baseUrl;
      if (apiKey === undefined && baseUrl === undefined) throw invalid(spec, 'llm.provider openai needs providers.openai.apiKey, or llm.baseUrl for a local server');
      llm = new OpenAiLlm({ apiKey: apiKey ?? 'none', model: l.model ?? p.openai?.model ?? 'gpt-4o-mini', ...(baseUrl === undefined ? {} : { baseUrl }) });
    } else {
      const apiKey = l.apiKey ?? p.gemini?.apiKey;
      if (apiKey === undefined) throw invalid(spec, 'llm.provider gemini needs providers.gemini.apiKey or llm.apiKey');
      const baseUrl = l.baseUrl ?? p.gemini?.baseUrl;
      llm = new GeminiLlm({ apiKey, model: l.model ?? p.gemini?.model ?? 'gemini-2.5-flash', ...(baseUrl === undefined ? {} : { baseUrl }) });
    }
    return new TimeoutLlm(llm, { firstResultMs: l.firstTokenTimeoutMs });
  }

  /** The agent's providers in its order; a configured Sherpa model goes ahead of the bundled offline engine. */
  #pick<N extends SttName | TtsName, P>(kind: string, names: readonly N[], have: ReadonlyMap<N, P>, sherpa: boolean): P[] {
    const order: N[] = [...names];
    const offline = (kind === 'stt' ? 'pocketsphinx' : 'flite') as N;
    if (sherpa && !order.includes('sherpa' as N)) {
      const at = order.indexOf(offline);
      order.splice(at < 0 ? order.length : at, 0, 'sherpa' as N);
    }
    const out: P[] = [];
    for (const n of order) {
      const provider = have.get(n);
      if (provider === undefined) this.#o.logger.warn({ kind, provider: n }, 'agent names a provider that is not configured: skipped');
      else out.push(provider);
    }
    if (out.length === 0) {
      // Always leave the caller a voice and an ear: the offline engines if nothing else.
      const fallback = have.get(offline);
      if (fallback !== undefined) out.push(fallback);
    }
    return out;
  }
}

function invalid(spec: AgentSpec, message: string): CallroomError {
  return new CallroomError('CR_CALL_AGENT_INVALID', `agent ${spec.name}: ${message}`);
}

function httpToolOptions(t: HttpToolSpec): Parameters<typeof httpTool>[0] {
  return {
    name: t.name,
    description: t.description,
    httpMethod: t.httpMethod,
    baseUrlPattern: t.baseUrlPattern,
    dynamicParameters: t.dynamicParameters.map((p) => ({
      name: p.name,
      location: p.location,
      type: p.type,
      required: p.required,
      ...(p.description === undefined ? {} : { description: p.description }),
      ...(p.enum === undefined ? {} : { enum: p.enum }),
    })),
    automaticParameters: t.automaticParameters.map((p) => ({
      name: p.name,
      location: p.location,
      knownValue:
        p.knownValue ?? ((ctx) => {
          const v = ctx.roomMetadata[p.knownParam ?? ''];
          return typeof v === 'string' ? v : undefined;
        }),
    })),
    interruptible: t.interruptible,
    ...(t.timeoutMs === undefined ? {} : { timeoutMs: t.timeoutMs }),
  };
}
