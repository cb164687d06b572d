import { z } from 'zod';

/**
 * The one configuration schema. Every setting the gateway reads is here, with its default;
 * `loadConfig` validates a file plus CALLROOM_* overrides against it once at start, then freezes it.
 * Keys whose name ends in apiKey/password/secret/token are secrets: never printed (see redact.ts).
 */

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);

const sipListen = z.strictObject({
  transport: z.enum(['udp', 'tcp']),
  host: host.default('127.0.0.1'),
  port: port.default(5060),
});

const trunk = z.strictObject({
  name: z.string().min(1),
  /** Source addresses allowed to send INVITEs, as IPs or CIDRs (IPv4 or IPv6). */
  cidrs: z.array(z.string().min(1)).default([]),
  /** Challenge inbound INVITEs with digest auth using these credentials. */
  auth: z
    .strictObject({
      username: z.string().min(1),
      password: z.string().min(1),
      realm: z.string().min(1).default('callroom'),
    })
    .optional(),
});

const registration = z.strictObject({
  /** Registrar URI, e.g. sip:sip.carrier.example:5060 */
  registrar: z.string().min(1),
  aor: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  expires: z.number().int().min(60).max(86_400).default(3600),
});

const sip = z.strictObject({
  listen: z.array(sipListen).min(1).default([{ transport: 'udp', host: '127.0.0.1', port: 5060 }]),
  /** Host placed in Contact/Via/SDP when the listen address is not what peers should use. */
  publicHost: z.string().optional(),
  userAgent: z.string().default('Callroom'),
  /** Codec preference, best first. */
  codecs: z.array(z.enum(['G722', 'PCMU', 'PCMA'])).min(1).default(['G722', 'PCMU', 'PCMA']),
  ptime: z.number().int().min(10).max(60).default(20),
  /** Send 180 Ringing / 183 Session Progress before answering. */
  ringing: z.boolean().default(true),
  earlyMedia: z.boolean().default(false),
  /** Echo received audio back instead of running an agent (media checks). */
  echo: z.boolean().default(false),
  acceptRefer: z.boolean().default(false),
  timers: z
    .strictObject({
      t1: z.number().int().positive().default(500),
      t2: z.number().int().positive().default(4000),
      t4: z.number().int().positive().default(5000),
    })
    .default({ t1: 500, t2: 4000, t4: 5000 }),
  limits: z
    .strictObject({
      maxMessageBytes: z.number().int().min(1024).max(1_048_576).default(65_535),
      maxHeaders: z.number().int().min(8).max(1024).default(256),
      maxLineLength: z.number().int().min(256).max(65_535).default(8192),
      maxTransactions: z.number().int().min(16).default(20_000),
      maxDialogs: z.number().int().min(1).default(5_000),
    })
    .default({ maxMessageBytes: 65_535, maxHeaders: 256, maxLineLength: 8192, maxTransactions: 20_000, maxDialogs: 5_000 }),
  trunks: z.array(trunk).default([]),
  /** What an INVITE from a source that matches no trunk gets. */
  unknownSource: z.enum(['reject', 'drop', 'allow']).default('reject'),
  /**
   * Digest challenges sent to trunks with auth, one per algorithm in this order (RFC 8760). Clients use the first
   * they support; put MD5 first for peers that read only the first challenge.
   */
  digestAlgorithms: z.array(z.enum(['SHA-256', 'MD5'])).min(1).default(['SHA-256', 'MD5']),
  registrations: z.array(registration).default([]),
});

const rtp = z
  .strictObject({
    host: host.default('127.0.0.1'),
    portMin: port.default(20_000),
    portMax: port.default(29_999),
    jitterBufferMs: z.number().int().min(0).max(500).default(60),
  })
  .refine((r) => r.portMin <= r.portMax, { message: 'portMin must not exceed portMax', path: ['portMin'] });

const http = z.strictObject({
  enabled: z.boolean().default(true),
  host: host.default('127.0.0.1'),
  port: port.default(8080),
  /** API keys accepted by the REST API (Bearer). Empty: the API only listens on loopback. */
  apiKeys: z.array(z.string().min(8)).default([]),
});

const providers = z.strictObject({
  deepgram: z
    .strictObject({ apiKey: z.string().min(1), baseUrl: z.string().url().optional(), model: z.string().default('nova-3') })
    .optional(),
  elevenlabs: z
    .strictObject({
      apiKey: z.string().min(1),
      baseUrl: z.string().url().optional(),
      voiceId: z.string().min(1),
      modelId: z.string().default('eleven_flash_v2_5'),
    })
    .optional(),
  openai: z
    .strictObject({ apiKey: z.string().min(1), baseUrl: z.string().url().optional(), model: z.string().default('gpt-4o-mini') })
    .optional(),
  gemini: z
    .strictObject({ apiKey: z.string().min(1), baseUrl: z.string().url().optional(), model: z.string().default('gemini-2.5-flash') })
    .optional(),
  sherpa: z.strictObject({ sttModelDir: z.string().optional(), ttsModelDir: z.string().optional() }).optional(),
  flite: z.strictObject({ voice: z.enum(['kal', 'kal16', 'awb', 'rms', 'slt']).default('kal16') }).default({ voice: 'kal16' }),
});

const vad = z.strictObject({
  engine: z.enum(['silero', 'energy']).default('silero'),
  /** Silero model: v5 ends speech sooner (measured, see src/vad/silero-model.ts); v6 is kept selectable. */
  sileroVersion: z.enum(['v5', 'v6']).default('v5'),
  /** Run all calls' windows in one batched inference per tick (measured 2.3-2.7x cheaper at 100+ calls). */
  batching: z.boolean().default(true),
  /** Speech probability threshold, strictly between 0 and 1. */
  threshold: z.number().gt(0).lt(1).default(0.5),
  minSpeechMs: z.number().int().min(0).max(10_000).default(250),
  minSilenceMs: z.number().int().min(0).max(10_000).default(300),
  speechPadMs: z.number().int().min(0).max(1000).default(30),
});

const agent = z.strictObject({
  systemPrompt: z.string().default('You are a helpful voice assistant. Keep answers short and spoken.'),
  greeting: z.string().optional(),
  llm: z.enum(['openai', 'gemini', 'none']).default('none'),
  stt: z.enum(['deepgram', 'sherpa', 'pocketsphinx']).default('pocketsphinx'),
  tts: z.enum(['elevenlabs', 'sherpa', 'flite']).default('flite'),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  maxToolRounds: z.number().int().positive().default(200),
  toolLoopTimeoutSeconds: z.number().positive().nullable().default(300),
  toolLoopWarnAfter: z.number().int().positive().default(50),
});

const limits = z.strictObject({
  maxConcurrentCalls: z.number().int().positive().default(1000),
  maxCallSeconds: z.number().int().positive().default(3600),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Replace transcripts, DTMF digits and tool arguments in logs with "[redacted]". */
  redactContent: z.boolean().default(false),
});

export const configSchema = z
  .strictObject({
    log: log.default({ level: 'info', redactContent: false }),
    sip: sip.default(() => sip.parse({})),
    rtp: rtp.default(() => rtp.parse({})),
    http: http.default(() => http.parse({})),
    providers: providers.default(() => providers.parse({})),
    vad: vad.default(() => vad.parse({})),
    agent: agent.default(() => agent.parse({})),
    limits: limits.default(() => limits.parse({})),
  })
  .strict();

/** The validated, frozen configuration. */
export type Config = z.infer<typeof configSchema>;
