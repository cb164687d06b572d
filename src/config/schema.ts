import { z } from 'zod';
import { agentName, agentSchema } from './agent-schema.ts';

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
  /**
   * Where calls dialled out through this trunk go (POST /calls with a `sip` medium): the carrier's or PBX's
   * SIP address (an IP literal: Callroom resolves no DNS), and credentials for its digest challenge.
   */
  outbound: z
    .strictObject({
      host: z.string().min(1),
      port: port.default(5060),
      transport: z.enum(['udp', 'tcp']).default('udp'),
      username: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
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

/**
 * Requests outside any dialog (INVITE, OPTIONS, REGISTER, ...) each source IP may send: a token bucket per
 * address, checked before the transaction layer keeps anything. In-dialog requests of live calls always pass.
 */
const sipRateLimit = z.strictObject({
  enabled: z.boolean().default(true),
  /** Sustained requests per second per source address. */
  requestsPerSecond: z.number().positive().max(100_000).default(20),
  /** Requests a source may send at once before the sustained rate applies. */
  burst: z.number().int().min(1).max(1_000_000).default(100),
  /** Sources tracked at most; beyond it the longest-idle one is forgotten (a full bucket again). */
  maxSources: z.number().int().min(16).max(1_000_000).default(10_000),
  /** Addresses of `trunks` (a proxy in front carries every caller's traffic) are not limited. */
  exemptTrunks: z.boolean().default(true),
  /** Over the limit: `drop` (say nothing: a flood costs nothing to answer) or `reject` (503, statelessly). */
  action: z.enum(['drop', 'reject']).default('drop'),
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
  /**
   * Kernel buffers of the SIP UDP sockets, bytes. A burst of signalling that arrives while the process is busy
   * waits here; what does not fit is dropped and retransmitted 500 ms later (a lost ACK tears a call down).
   * Linux caps these at net.core.rmem_max / wmem_max (a warning at start says so).
   */
  recvBufferSize: z.number().int().min(65_536).max(268_435_456).default(4_194_304),
  sendBufferSize: z.number().int().min(65_536).max(268_435_456).default(1_048_576),
  rateLimit: sipRateLimit.default(() => sipRateLimit.parse({})),
});

const rtp = z
  .strictObject({
    host: host.default('127.0.0.1'),
    portMin: port.default(20_000),
    portMax: port.default(29_999),
    jitterBufferMs: z.number().int().min(0).max(500).default(60),
    /** Kernel buffers of each RTP socket, bytes; absent: the system default (about 200 KiB: seconds of audio). */
    recvBufferSize: z.number().int().min(16_384).max(67_108_864).optional(),
    sendBufferSize: z.number().int().min(16_384).max(67_108_864).optional(),
    /**
     * RTP socket I/O: `native` the batched addon (native/udp-batch: recvmmsg/sendmmsg, built from source at
     * install; start fails without it), `dgram` node:dgram (the reference path), `auto` the addon when it is
     * built, else node:dgram (the start-up log says which).
     */
    io: z.enum(['auto', 'native', 'dgram']).default('auto'),
  })
  .refine((r) => r.portMin <= r.portMax, { message: 'portMin must not exceed portMax', path: ['portMin'] });

const http = z.strictObject({
  enabled: z.boolean().default(true),
  host: host.default('127.0.0.1'),
  port: port.default(8080),
  /** API keys accepted by the REST API (`X-API-Key` header). Empty: the HTTP server listens on loopback only. */
  apiKeys: z.array(z.string().min(8)).default([]),
  /**
   * HMAC key for call join tokens (at least 32 characters). Absent: a random key is made at start, so tokens
   * issued before a restart are refused after it; set it when several nodes share one database.
   */
  tokenSecret: z.string().min(32).optional(),
  /** Lifetime of a join token (`joinUrl` of POST /calls). */
  joinTokenTtlSeconds: z.number().int().min(5).max(3600).default(60),
  /** Base URL clients reach this server at (`https://callroom.example.com`), for `joinUrl`; default: the request's Host. */
  publicUrl: z.string().url().regex(/^https?:\/\//i, 'an http(s) URL').optional(),
  /** Largest request body the REST API accepts (413 beyond). */
  maxBodyBytes: z.number().int().min(1024).max(64 * 1_048_576).default(1_048_576),
});

/** The WebSocket audio medium (`joinUrl`) and the SIP control socket (src/transports/ws). */
const websocket = z.strictObject({
  /** Largest message a client may send, audio or JSON; a larger one closes the connection (1009) and ends the call. */
  maxMessageBytes: z.number().int().min(1024).max(4 * 1_048_576).default(131_072),
  /** Messages per second a client may send, audio frames included (1 s burst); beyond it they are dropped and reported. */
  maxMessagesPerSecond: z.number().int().min(10).max(10_000).default(300),
  /** Outbound audio queued per call and not yet sent; `write` waits while it is full. */
  outboundBufferMs: z.number().int().min(100).max(10_000).default(1_000),
  /** How far ahead of real time outbound audio may be sent (the client's playback cushion, Ultravox `clientBufferSizeMs`). */
  outboundLeadMs: z.number().int().min(20).max(2_000).default(60),
  /** Protocol-level ping interval; a client that has not answered the previous ping by the next one is dropped. */
  pingIntervalMs: z.number().int().min(1_000).max(300_000).default(15_000),
});

/** Platforms that bridge live calls over their own WebSocket media protocol (src/transports/telephony). */
export const TELEPHONY_DIALECTS = ['twilio', 'telnyx', 'vonage', 'jambonz', 'chan_websocket', 'plivo', 'exotel', 'genesys'] as const;

/** One WebSocket path on the HTTP server that telephony platforms connect to. */
const telephonyEndpoint = z
  .strictObject({
    /** URL path (`/telephony/twilio`); must not be a path the WebSocket medium serves. */
    path: z.string().regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'a URL path starting with /'),
    /** The platform, or `auto`: recognised from its first frames (and its WebSocket subprotocol). */
    dialect: z.enum([...TELEPHONY_DIALECTS, 'auto']).default('auto'),
    /** The agent that answers (the dialled name); absent: the platform's `agent` custom parameter, else the default agent. */
    agent: z.string().min(1).optional(),
    /**
     * Accepted keys (at least 16 characters; redacted in logs), presented as the URL's `token` query parameter or
     * the platform's custom parameter `token` (Twilio `<Parameter>`, Telnyx `custom_parameters`, a Vonage header, ...).
     */
    apiKeys: z.array(z.string().min(16)).default([]),
    /** Source addresses (IPs or CIDRs) allowed to connect, checked before the upgrade; with apiKeys, both must pass. */
    allowFrom: z.array(z.string().min(1)).default([]),
    /** jambonz: the rate of `bidirectionalAudio` when the call's metadata does not say (default: the input rate). */
    outputSampleRate: z.union([z.literal(8000), z.literal(16000), z.literal(24000), z.literal(48000)]).optional(),
  })
  .refine((e) => e.apiKeys.length > 0 || e.allowFrom.length > 0, { message: 'needs apiKeys or allowFrom: an endpoint without authentication is refused' });

/** An Asterisk AudioSocket TCP listener (the protocol carries no credentials: sources are checked). */
const audioSocketListener = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(9092),
  /** The agent that answers; absent: the default agent. */
  agent: z.string().min(1).optional(),
  /** Source addresses (IPs or CIDRs) allowed to connect; anything else is closed before a byte is read. */
  allowFrom: z.array(z.string().min(1)).min(1).default(['127.0.0.1', '::1']),
});

const telephonyPlayout = z.strictObject({
  /** How far ahead of real time audio goes to a platform that queues it (Twilio, Telnyx, Vonage, jambonz, chan_websocket, ...). */
  leadMs: z.number().int().min(20).max(2_000).default(200),
  /** Audio queued in Callroom per call and not yet sent; `write` waits while it is full. */
  bufferMs: z.number().int().min(100).max(10_000).default(2_000),
  /** A playout mark after at most this much audio: the granularity of what the caller is known to have heard. */
  markEveryMs: z.number().int().min(20).max(2_000).default(100),
  /** A mark the platform has not acknowledged this long after its audio should have played counts as played. */
  markTimeoutMs: z.number().int().min(500).max(60_000).default(5_000),
  /** Marks outstanding at most (jambonz keeps 30). */
  maxPendingMarks: z.number().int().min(2).max(1_000).default(25),
  /** Lead for platforms that play what they get at once (AudioSocket): about one frame, for timer jitter. */
  realtimeLeadMs: z.number().int().min(0).max(200).default(20),
});

/** Telephony bridges: platforms' own WebSocket (and AudioSocket TCP) media protocols as call media. */
const telephony = z.strictObject({
  endpoints: z
    .array(telephonyEndpoint)
    .default([])
    .refine((list) => new Set(list.map((e) => e.path)).size === list.length, { message: 'endpoint paths must be unique' })
    .refine((list) => !list.some((e) => e.path === '/ws/join' || e.path === '/ws/control'), { message: '/ws/join and /ws/control belong to the WebSocket medium' }),
  audiosocket: z.array(audioSocketListener).default([]),
  /** AudioSocket kind 0x11: slin16 in older docs and libraries, slin12 in Asterisk since Oct 2025; `auto` decides by frame size. */
  audiosocketKind11: z.enum(['auto', 'slin12', 'slin16']).default('auto'),
  playout: telephonyPlayout.default(() => telephonyPlayout.parse({})),
  /** Time a connection has to say which call it is (Twilio `start`, AudioSocket UUID, ...) before it is closed. */
  startTimeoutMs: z.number().int().min(500).max(60_000).default(5_000),
  /** Largest WebSocket message (or AudioSocket frame) a platform may send; a larger one ends the call. */
  maxMessageBytes: z.number().int().min(1024).max(1_048_576).default(65_536),
  /** Messages per second a platform may send on one call (1 s burst); beyond it they are dropped and logged. */
  maxMessagesPerSecond: z.number().int().min(10).max(10_000).default(250),
  /** WebSocket ping interval; a peer that has not answered the previous ping by the next one is dropped. */
  pingIntervalMs: z.number().int().min(1_000).max(300_000).default(15_000),
  /** An AudioSocket connection with no frame for this long is ended (Asterisk sends audio every 20 ms). */
  idleTimeoutMs: z.number().int().min(1_000).max(300_000).default(10_000),
});

/** Events a webhook endpoint can receive (see src/api/webhooks). */
export const WEBHOOK_EVENT_TYPES = ['call.started', 'call.transcript', 'call.tool', 'call.ended'] as const;

const storage = z
  .strictObject({
    /**
     * `sqlite`: embedded (node:sqlite), one file in `dataDir`, one node. `postgres`: a PostgreSQL server that
     * every node of a deployment shares (docs/deploy.md).
     */
    driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** sqlite: directory for the database file; created when missing. Relative paths are relative to the working directory. */
    dataDir: z.string().min(1).default('./data'),
    /** postgres: `postgres://user@host:5432/database` (`?sslmode=...` is read; credentials in it are printed as [secret]). */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//i, 'a postgres:// URL')
      .refine((u) => !/[?&]password=/i.test(u), { message: 'put the password in storage.password, not in the query string' })
      .optional(),
    /** postgres: the password (overrides one in the URL); set it with CALLROOM_STORAGE__PASSWORD. */
    password: z.string().min(1).optional(),
    /** postgres: schema of Callroom's tables, created when missing. */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier').default('public'),
    /** postgres: pooled connections of this node. */
    poolSize: z.number().int().min(2).max(200).default(10),
  })
  .refine((s) => s.driver !== 'postgres' || s.url !== undefined, { message: 'required with driver postgres', path: ['url'] });

/** Several nodes behind a SIP proxy on one PostgreSQL (docs/deploy.md); one node needs none of it. */
const cluster = z
  .strictObject({
    /**
     * This node's id, unique among the nodes sharing a database: written into the records of the calls it holds,
     * and where the other nodes send commands for them (hang-up, control sockets).
     */
    nodeId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'letters, digits, ".", "_" and "-"').default('node-1'),
    /** How often the node refreshes its heartbeat in the shared storage (and ends the calls of lost nodes). */
    heartbeatMs: z.number().int().min(200).max(60_000).default(5_000),
    /** A node silent this long is lost: the others end its calls' records (`node-lost`) and stop sending it commands. */
    nodeTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
    /** How long a command for a call held by another node waits for that node's answer. */
    commandTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
  })
  .refine((c) => c.nodeTimeoutMs >= 2 * c.heartbeatMs, { message: 'at least twice heartbeatMs', path: ['nodeTimeoutMs'] });

const webhookEndpoint = z.strictObject({
  url: z.string().url().regex(/^https?:\/\//i, 'an http(s) URL'),
  /** HMAC-SHA256 key for the `X-Callroom-Signature` header (at least 16 characters). */
  secret: z.string().min(16),
  /** Only these event types; all when absent. */
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
});

const webhookDelivery = z.strictObject({
  /** Attempts per event (first try included); then the event is counted as failed and dropped. */
  maxAttempts: z.number().int().min(1).max(20).default(8),
  initialBackoffMs: z.number().int().min(1).max(600_000).default(1_000),
  maxBackoffMs: z.number().int().min(1).max(3_600_000).default(60_000),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  /** Events waiting per endpoint; beyond it the oldest waiting event is dropped (and counted). */
  queueSize: z.number().int().min(1).max(1_000_000).default(10_000),
  /** Calls whose events go out in parallel per endpoint (events of one call always go one at a time, in order). */
  concurrency: z.number().int().min(1).max(64).default(4),
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
  /** Speech-to-speech (agents with `realtime.provider: openai`); the SDK dials wss:// under `baseUrl` (`…/v1`). */
  openaiRealtime: z
    .strictObject({ apiKey: z.string().min(1), baseUrl: z.string().url().optional(), model: z.string().default('gpt-realtime'), voice: z.string().min(1).optional() })
    .optional(),
  /** Speech-to-speech (agents with `realtime.provider: gemini`). */
  geminiLive: z
    .strictObject({
      apiKey: z.string().min(1),
      baseUrl: z.string().url().optional(),
      model: z.string().default('gemini-live-2.5-flash-preview'),
      voice: z.string().min(1).optional(),
    })
    .optional(),
  sherpa: z.strictObject({ sttModelDir: z.string().optional(), ttsModelDir: z.string().optional() }).optional(),
  flite: z.strictObject({ voice: z.enum(['kal', 'kal16', 'awb', 'rms', 'slt']).default('kal16') }).default({ voice: 'kal16' }),
  /** Offline wideband recogniser: one decoder (~90 MB) per concurrent call, up to this many. */
  pocketsphinx: z.strictObject({ maxDecoders: z.number().int().min(1).max(256).default(4) }).default({ maxDecoders: 4 }),
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

const limits = z.strictObject({
  maxConcurrentCalls: z.number().int().positive().default(1000),
  maxCallSeconds: z.number().int().positive().default(3600),
});

/** Per-call stereo WAV recordings (caller left, agent right). Agents override the default with `record`. */
const recording = z.strictObject({
  /** Record calls of agents that do not say (`agent.record` absent). */
  enabled: z.boolean().default(false),
  /** Directory of the WAV files (one per call); created when missing. */
  dir: z.string().min(1).default('./data/recordings'),
  sampleRate: z.union([z.literal(8000), z.literal(16000)]).default(16000),
  /** Recordings older than this are deleted (checked at start and hourly); 0 keeps them forever. */
  retentionDays: z.number().int().min(0).max(36_500).default(30),
  /** How often buffered audio is written out: a crash loses at most this much (and the header is patched each time). */
  flushMs: z.number().int().min(100).max(1_000).default(500),
});

/** Recordings and transcripts are personal data. */
const privacy = z.strictObject({
  /** false: no recording is made whatever the agents say, and transcripts are neither stored nor sent in webhooks. */
  storeContent: z.boolean().default(true),
});

/** OpenTelemetry traces of calls (a span per call; turns, STT, LLM, tools and TTS below it). */
const tracing = z.strictObject({
  enabled: z.boolean().default(false),
  /** OTLP/HTTP (JSON) traces endpoint. */
  otlpUrl: z.string().url().regex(/^https?:\/\//i, 'an http(s) URL').default('http://127.0.0.1:4318/v1/traces'),
  /** Headers sent with every export (API keys of a hosted collector); printed as [secret]. */
  headersSecret: z.record(z.string(), z.string()).default({}),
  serviceName: z.string().min(1).default('callroom'),
  /** Share of calls traced (0..1). */
  sampleRatio: z.number().min(0).max(1).default(1),
});

/** What SIGTERM does: stop taking calls, let live ones finish, then end them with a goodbye. */
const drain = z.strictObject({
  /** Longest wait for live calls to end by themselves. */
  timeoutSeconds: z.number().int().min(0).max(86_400).default(30),
  /** Said to callers still on the line when the wait is over, before the BYE; empty: hang up without a word. */
  goodbye: z.string().max(1_000).default('Sorry, this line has to close now. Please call again in a moment. Goodbye.'),
  /** Longest time the goodbye may take (synthesis and playout). */
  goodbyeMaxSeconds: z.number().int().min(1).max(60).default(8),
  /** Retry-After of the 503s sent while draining (SIP INVITE and OPTIONS, REST). */
  retryAfterSeconds: z.number().int().min(1).max(3_600).default(30),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Replace transcripts, DTMF digits and tool arguments in logs with "[redacted]". */
  redactContent: z.boolean().default(false),
});

/** What the default demo agent says first (it says plainly that it is a demo). */
export const DEMO_GREETING =
  'Hello, this is the Callroom demo agent. I can check an order status or tell you the time. You can also press 1 for order status or 2 for the time.';

export const configSchema = z
  .strictObject({
    log: log.default({ level: 'info', redactContent: false }),
    sip: sip.default(() => sip.parse({})),
    rtp: rtp.default(() => rtp.parse({})),
    http: http.default(() => http.parse({})),
    websocket: websocket.default(() => websocket.parse({})),
    telephony: telephony.default(() => telephony.parse({})),
    providers: providers.default(() => providers.parse({})),
    vad: vad.default(() => vad.parse({})),
    /**
     * Agents that answer calls. A SIP call to `sip:<name>@host` reaches the agent of that name; anything else
     * reaches `defaultAgent` (the first agent when unset). The default is the built-in offline demo agent.
     */
    agents: z
      .array(agentSchema)
      .default(() => [agentSchema.parse({ name: 'demo', greeting: DEMO_GREETING })])
      .refine((list) => new Set(list.map((a) => a.name.toLowerCase())).size === list.length, { message: 'agent names must be unique' }),
    defaultAgent: agentName.optional(),
    limits: limits.default(() => limits.parse({})),
    storage: storage.default(() => storage.parse({})),
    cluster: cluster.default(() => cluster.parse({})),
    /** Endpoints that receive call events (more can be added through the REST API, /webhooks). */
    webhooks: z.array(webhookEndpoint).default([]),
    webhookDelivery: webhookDelivery.default(() => webhookDelivery.parse({})),
    recording: recording.default(() => recording.parse({})),
    privacy: privacy.default(() => privacy.parse({})),
    tracing: tracing.default(() => tracing.parse({})),
    drain: drain.default(() => drain.parse({})),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultAgent !== undefined && !c.agents.some((a) => a.name === c.defaultAgent)) {
      ctx.addIssue({ code: 'custom', path: ['defaultAgent'], message: 'names no agent in agents' });
    }
  });

/** The validated, frozen configuration. */
export type Config = z.infer<typeof configSchema>;
