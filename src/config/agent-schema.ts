import { z } from 'zod';

/**
 * An agent: what answers a call. The same shape in the config file (`agents:`) and in the REST API
 * (`POST /agents`), so an agent moves between the two unchanged. Provider credentials live in
 * `providers.*`; an agent may name another model or OpenAI-compatible base URL (a local vLLM, Ollama or
 * llama.cpp server) for itself.
 */

/** A name a SIP caller can dial (`sip:<name>@host`), a URL path segment, and a log field. */
export const agentName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-", starting with a letter or digit');

/** A tool name the model sees. */
export const toolName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'letters, digits, "_" and "-", starting with a letter or "_"');

const parameterName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a parameter name');
const location = z.enum(['header', 'query', 'path', 'body']);
const parameterType = z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']);

export const dynamicParameterSchema = z.strictObject({
  name: parameterName,
  location,
  type: parameterType.default('string'),
  description: z.string().max(2000).optional(),
  required: z.boolean().default(false),
  enum: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).optional(),
});

/** Values the gateway knows about the call, for automatic parameters (Ultravox's known parameters). */
export const KNOWN_PARAMS = ['call.id', 'call.from', 'call.to', 'call.medium', 'agent.name'] as const;

export const automaticParameterSchema = z
  .strictObject({
    name: parameterName,
    location,
    /** A literal (an API key: a secret, never shown to the model, logged or returned in full). */
    knownValue: z.string().optional(),
    /** Or a value of the call. */
    knownParam: z.enum(KNOWN_PARAMS).optional(),
  })
  .refine((p) => (p.knownValue === undefined) !== (p.knownParam === undefined), {
    message: 'exactly one of knownValue and knownParam',
  });

export const httpToolSchema = z
  .strictObject({
    name: toolName,
    description: z.string().min(1).max(4000),
    httpMethod: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    /** `https://api.example.com/v1/orders/{orderId}`: each `{placeholder}` is a path parameter. */
    baseUrlPattern: z.string().url().regex(/^https?:\/\//i, 'an http(s) URL'),
    dynamicParameters: z.array(dynamicParameterSchema).max(64).default([]),
    automaticParameters: z.array(automaticParameterSchema).max(64).default([]),
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    interruptible: z.boolean().default(true),
  })
  .superRefine((t, ctx) => {
    const named = new Set([...t.baseUrlPattern.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]));
    const all = [...t.dynamicParameters, ...t.automaticParameters];
    for (const [i, p] of all.entries()) {
      if (p.location === 'path' && !named.has(p.name)) {
        ctx.addIssue({ code: 'custom', path: ['dynamicParameters', i, 'location'], message: `path parameter ${p.name} is not in baseUrlPattern` });
      }
    }
    const seen = new Set<string>();
    for (const p of all) {
      if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['dynamicParameters'], message: `parameter ${p.name} is declared twice` });
      seen.add(p.name);
    }
  });

/** A tool the caller's application runs (over the WebSocket medium or a SIP call's control socket). */
export const clientToolSchema = z.strictObject({
  name: toolName,
  description: z.string().min(1).max(4000),
  dynamicParameters: z.array(dynamicParameterSchema.omit({ location: true })).max(64).default([]),
  /** No timeout by default (a person may be working on it); bounded by the call and the tool loop. */
  timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
  interruptible: z.boolean().default(false),
});

export const mcpServerSchema = z.strictObject({
  name: z.string().min(1).max(64),
  url: z.string().url(),
  transport: z.enum(['streamable_http', 'sse']).default('streamable_http'),
  headers: z.record(z.string(), z.string()).default({}),
  /** Only these tools (fnmatch globs); all when empty. */
  toolFilter: z.array(z.string().min(1)).default([]),
});

/** Built-in tools every agent may use; the REST API lists them at GET /agent-tools/system. */
export const SYSTEM_TOOL_NAMES = ['hangUp', 'transferCall', 'playDtmf'] as const;
export type SystemToolName = (typeof SYSTEM_TOOL_NAMES)[number];

const llmSchema = z.strictObject({
  /** `demo`: the built-in keyword agent (no model; for trying Callroom out). */
  provider: z.enum(['demo', 'openai', 'gemini']).default('demo'),
  model: z.string().min(1).optional(),
  /** OpenAI-compatible server (vLLM, Ollama, llama.cpp) or a Gemini endpoint; default from `providers`. */
  baseUrl: z.string().url().optional(),
  apiKey: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  /** A request that has not produced its first token by then is abandoned with a spoken apology. */
  firstTokenTimeoutMs: z.number().int().min(100).max(120_000).default(8_000),
});

const sttSchema = z.strictObject({
  /** Tried in order for each call; the first that supports the call's sample rate is used. */
  providers: z.array(z.enum(['deepgram', 'sherpa', 'pocketsphinx'])).min(1).default(['pocketsphinx']),
  language: z.string().min(2).max(16).default('en'),
  keywords: z.array(z.string().min(1)).max(100).default([]),
});

const ttsSchema = z.strictObject({
  /** Tried in order for each reply: a failing provider hands over to the next (the offline voice last). */
  providers: z.array(z.enum(['elevenlabs', 'sherpa', 'flite'])).min(1).default(['flite']),
  voice: z.string().min(1).optional(),
});

const vadOverrides = z.strictObject({
  threshold: z.number().gt(0).lt(1).optional(),
  minSpeechMs: z.number().int().min(0).max(10_000).optional(),
  minSilenceMs: z.number().int().min(0).max(10_000).optional(),
});

export const turnSchema = z.strictObject({
  /** After VAD speech end, how long to wait for more speech before the turn is decided. */
  endpointingMs: z.number().int().min(0).max(5_000).default(200),
  /** After speech end, the longest wait for the recogniser's final text before deciding with what it has. */
  finalTimeoutMs: z.number().int().min(0).max(10_000).default(1_500),
  /** Caller speech must last this long during agent speech before it interrupts (a cough does not). */
  bargeInMinSpeechMs: z.number().int().min(0).max(5_000).default(250),
  /** Also require recognised words before interrupting (slower, surer). */
  bargeInRequireWords: z.boolean().default(false),
  /** Ignore caller audio that matches what the agent just sent (the agent's own voice echoed back). */
  echoGuard: z.boolean().default(true),
  /** Said once when a tool runs longer than `fillerAfterMs`; empty for none. */
  fillers: z.array(z.string().min(1).max(200)).default(['One moment while I check that.']),
  fillerAfterMs: z.number().int().min(0).max(60_000).default(1_500),
  /** Prompt a silent caller after this long; 0 for never. */
  idlePromptMs: z.number().int().min(0).max(600_000).default(0),
  idlePrompt: z.string().max(200).default('Are you still there?'),
});

/**
 * Speech-to-speech: the call talks to a realtime model (OpenAI Realtime, Gemini Live) instead of STT -> LLM -> TTS.
 * Credentials default to `providers.openaiRealtime` / `providers.geminiLive`. `onDrop`: what a dropped model
 * connection does to the call (OpenAI has no resumption: `reconnect` opens a new session, without the context).
 */
export const realtimeSchema = z
  .strictObject({
    provider: z.enum(['openai', 'gemini']),
    model: z.string().min(1).optional(),
    voice: z.string().min(1).optional(),
    /** `manual`: Callroom's VAD decides when the caller's turn ended. Gemini has no `semantic_vad`. */
    turnDetection: z.enum(['server_vad', 'semantic_vad', 'manual']).default('server_vad'),
    baseUrl: z.string().url().optional(),
    apiKey: z.string().min(1).optional(),
    onDrop: z.enum(['reconnect', 'end']).default('reconnect'),
  })
  .refine((r) => !(r.provider === 'gemini' && r.turnDetection === 'semantic_vad'), {
    message: 'Gemini Live has no semantic_vad (use server_vad or manual)',
    path: ['turnDetection'],
  });

export const agentSchema = z.strictObject({
  name: agentName,
  description: z.string().max(2000).default(''),
  systemPrompt: z.string().max(100_000).default('You are a helpful voice assistant on a phone call. Keep answers short and spoken.'),
  /** Spoken when the call is answered; none when absent. */
  greeting: z.string().max(2000).optional(),
  /** Spoken on a call whose audio no configured recogniser can hear (narrowband with wideband-only STT). */
  noSpeechNotice: z
    .string()
    .max(2000)
    .default('I cannot understand speech on this line, but I can help with the keypad.'),
  /** Spoken when the model fails or times out; the call goes on. */
  apology: z.string().max(500).default("Sorry, I'm having trouble right now. Could you say that again?"),
  llm: llmSchema.default(() => llmSchema.parse({})),
  stt: sttSchema.default(() => sttSchema.parse({})),
  tts: ttsSchema.default(() => ttsSchema.parse({})),
  vad: vadOverrides.default({}),
  turn: turnSchema.default(() => turnSchema.parse({})),
  tools: z
    .strictObject({
      http: z.array(httpToolSchema).max(128).default([]),
      client: z.array(clientToolSchema).max(128).default([]),
      mcp: z.array(mcpServerSchema).max(16).default([]),
      system: z.array(z.enum(SYSTEM_TOOL_NAMES)).default([...SYSTEM_TOOL_NAMES]),
      /** Tool policy: fnmatch globs; deny wins. */
      allow: z.array(z.string().min(1)).default([]),
      deny: z.array(z.string().min(1)).default([]),
      /** Per-call deadline for tools without their own (ms). */
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    })
    .default(() => ({ http: [], client: [], mcp: [], system: [...SYSTEM_TOOL_NAMES], allow: [], deny: [], timeoutMs: 30_000 })),
  loop: z
    .strictObject({
      maxToolRounds: z.number().int().positive().default(20),
      /** Overall bound of one turn's tool loop (client tools included); null for none. */
      toolLoopTimeoutSeconds: z.number().positive().nullable().default(600),
      toolLoopWarnAfter: z.number().int().positive().default(10),
    })
    .default({ maxToolRounds: 20, toolLoopTimeoutSeconds: 600, toolLoopWarnAfter: 10 }),
  /** Record the call (stereo WAV) when recording is enabled globally. */
  record: z.boolean().optional(),
  /** Set: calls run speech-to-speech on this realtime model (llm, stt, tts and turn are not used). */
  realtime: realtimeSchema.optional(),
});

/** An agent as the config file or the API gives it, defaults applied. */
export type AgentSpec = z.infer<typeof agentSchema>;
/** An agent as written by a user (defaults not yet applied). */
export type AgentSpecInput = z.input<typeof agentSchema>;
export type HttpToolSpec = z.infer<typeof httpToolSchema>;
export type ClientToolSpec = z.infer<typeof clientToolSchema>;
export type McpServerSpec = z.infer<typeof mcpServerSchema>;
export type TurnSettings = z.infer<typeof turnSchema>;
export type RealtimeSpec = z.infer<typeof realtimeSchema>;
