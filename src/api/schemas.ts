import { z } from 'zod';
import { agentSchema, clientToolSchema, httpToolSchema, SYSTEM_TOOL_NAMES } from '../config/agent-schema.ts';
import { WEBHOOK_EVENT_TYPES } from '../config/schema.ts';
import { CALL_STATES, SAMPLE_RATES } from '../storage/call-record.ts';

/**
 * The request and response shapes of the REST API, in zod: requests are validated with them, the
 * OpenAPI document (/openapi.json) is generated from them, and the contract tests check every response
 * against that document. Agents and tools reuse the config schemas (src/config/agent-schema.ts) as they are.
 */

const isoTime = z.iso.datetime({ offset: true });
/** Ids are opaque strings (UUIDs for what the API creates, `config-N` for config webhooks). */
export const idParam = z.string().min(1).max(128);

export const errorBody = z
  .object({
    code: z.string().describe('Stable error code (CR_API_*)'),
    message: z.string(),
    details: z
      .array(z.object({ in: z.enum(['body', 'query', 'params', 'headers']), path: z.string(), message: z.string() }))
      .optional()
      .describe('For validation errors: each field at fault and why'),
  })
  .meta({ id: 'Error' });

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request is not valid (CR_API_VALIDATION, CR_API_MALFORMED_JSON)',
  401: 'Missing or unknown X-API-Key (CR_API_UNAUTHORIZED)',
  404: 'No such resource (CR_API_NOT_FOUND)',
  409: 'Conflict with the current state (CR_API_CONFLICT, CR_API_IN_USE, CR_API_READ_ONLY, CR_API_CALL_ENDED)',
  413: 'Body larger than http.maxBodyBytes (CR_API_BODY_TOO_LARGE)',
  415: 'Body is not JSON (CR_API_UNSUPPORTED_MEDIA_TYPE)',
  429: 'Too many concurrent calls (CR_API_TOO_MANY_CALLS)',
  503: 'Storage or the call layer is unavailable (CR_API_UNAVAILABLE)',
};

/** Response map for a route: its success responses plus the error statuses it can answer with. */
export function responses<T extends Record<number, z.ZodType>>(ok: T, errors: readonly number[]): T & Record<number, z.ZodType> {
  const out: Record<number, z.ZodType> = { ...ok };
  for (const status of [...errors, 401]) out[status] = errorBody.describe(ERROR_DESCRIPTIONS[status] ?? 'Error');
  return out as T & Record<number, z.ZodType>;
}

/** A 204 answer (no body). */
export const noContent = z.null().describe('No content');

export const pageQuery = {
  page: z.coerce.number().int().min(1).max(10_000_000).default(1).describe('Page number, from 1'),
  limit: z.coerce.number().int().min(1).max(100).default(50).describe('Items per page, 1 to 100'),
};

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int().describe('Matching items over all pages'),
    totalPages: z.number().int(),
  });
}

const timestamps = { createdAt: isoTime, updatedAt: isoTime };

// ---- agents

export const agentResource = agentSchema.extend({ id: z.string(), ...timestamps }).meta({ id: 'Agent' });

/**
 * PATCH /agents/{id}: a JSON merge patch (RFC 7396) of the agent. Top-level keys are checked here; the
 * merged agent is then validated as a whole, so nested fields only need to be valid once merged.
 */
export const agentPatch = z
  .strictObject(
    Object.fromEntries(
      Object.keys(agentSchema.shape).map((k) => [k, z.unknown().describe(`New value of ${k}; objects merge, null restores the default`).optional()]),
    ) as Record<keyof typeof agentSchema.shape, z.ZodOptional<z.ZodUnknown>>,
  )
  .meta({ id: 'AgentPatch' });

export const agentListQuery = z.strictObject({ ...pageQuery, search: z.string().max(200).optional().describe('Substring of the name or description') });

// ---- agent tools

/** A tool's resource name: unique across API tools (any case). */
const toolResourceName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" and "-"');

export const agentToolCreate = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('http'),
      name: toolResourceName.optional().describe('Resource name; default: the model tool name (definition.name)'),
      definition: httpToolSchema,
    }),
    z.strictObject({
      type: z.literal('client'),
      name: toolResourceName.optional().describe('Resource name; default: the model tool name (definition.name)'),
      definition: clientToolSchema,
    }),
  ])
  .meta({ id: 'AgentToolCreate' });

export const agentToolPatch = z
  .strictObject({
    type: z.enum(['http', 'client']).optional().describe('Must stay what it is'),
    name: toolResourceName.optional(),
    definition: z.record(z.string(), z.unknown()).optional().describe('Merge patch of the definition (RFC 7396)'),
  })
  .meta({ id: 'AgentToolPatch' });

export const agentToolResource = z
  .discriminatedUnion('type', [
    z.object({ id: z.string(), name: z.string(), type: z.literal('http'), definition: httpToolSchema, ...timestamps }),
    z.object({ id: z.string(), name: z.string(), type: z.literal('client'), definition: clientToolSchema, ...timestamps }),
  ])
  .meta({ id: 'AgentTool' });

export const agentToolListQuery = z.strictObject({
  ...pageQuery,
  search: z.string().max(200).optional().describe('Substring of the name, description or model tool name'),
  type: z.enum(['http', 'client']).optional(),
});

export const systemToolResource = z
  .object({
    name: z.enum(SYSTEM_TOOL_NAMES),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments'),
    media: z.array(z.enum(['sip', 'websocket', 'telephony'])).describe('Call media the tool acts on'),
  })
  .meta({ id: 'SystemTool' });

export const agentToolsView = z
  .object({
    custom: z.array(agentToolResource).describe('API tools assigned to the agent, in assignment order'),
    system: z.array(systemToolResource).describe('Built-in tools the agent has (agent.tools.system)'),
  })
  .meta({ id: 'AgentTools' });

export const assignToolsBody = z.strictObject({ toolIds: z.array(idParam).min(1).max(100) });

// ---- calls

const sampleRate = z.union(SAMPLE_RATES.map((r) => z.literal(r)) as [z.ZodLiteral<8000>, z.ZodLiteral<16000>, z.ZodLiteral<24000>, z.ZodLiteral<48000>]);
const sipAddress = z
  .string()
  .min(1)
  .max(256)
  .regex(/^(?:sips?:[^\s<>"]+|\+?[0-9*#]{1,32})$/, 'a SIP URI (sip:...) or a phone number');

export const callMedium = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('websocket'), inputSampleRate: sampleRate, outputSampleRate: sampleRate }),
  z.strictObject({ type: z.literal('sip'), to: sipAddress, from: sipAddress, trunk: z.string().min(1).max(64) }),
]);

export const metadataSchema = z
  .record(z.string().min(1).max(64), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= 32, { message: 'at most 32 metadata keys' });

export const callCreate = z
  .strictObject({
    agentId: idParam.optional().describe('A stored agent'),
    agent: agentSchema.optional().describe('Or an inline agent, used for this call only'),
    medium: callMedium,
    metadata: metadataSchema.default({}),
    maxDurationSeconds: z.number().int().min(1).optional().describe('Default and upper bound: limits.maxCallSeconds'),
  })
  .refine((b) => (b.agentId === undefined) !== (b.agent === undefined), { message: 'give exactly one of agentId and agent', path: ['agentId'] })
  .meta({ id: 'CallCreate' });

export const callCreated = z
  .object({
    callId: z.string(),
    joinUrl: z.string().optional().describe('WebSocket calls: connect here (single use, expires at joinUrlExpiresAt)'),
    joinUrlExpiresAt: isoTime.optional(),
    controlUrl: z.string().optional().describe("The call's control socket (client tools, state, transcripts, hang-up): single use, expires at controlUrlExpiresAt"),
    controlUrlExpiresAt: isoTime.optional(),
  })
  .meta({ id: 'CallCreated' });

export const callControl = z
  .object({
    controlUrl: z.string().describe('Connect a WebSocket here to take the call\'s client tools and events (single use)'),
    controlUrlExpiresAt: isoTime,
  })
  .meta({ id: 'CallControl' });

const mediumOut = z.discriminatedUnion('type', [
  z.object({ type: z.literal('websocket'), inputSampleRate: z.number().int(), outputSampleRate: z.number().int() }),
  z.object({ type: z.literal('sip'), direction: z.enum(['inbound', 'outbound']), from: z.string(), to: z.string(), trunk: z.string().optional() }),
]);

const callSummaryShape = {
  id: z.string(),
  agentId: z.string().nullable(),
  agentName: z.string(),
  medium: mediumOut,
  state: z.enum(CALL_STATES as ['starting', 'ringing', 'active', 'ended']),
  metadata: z.record(z.string(), z.string()),
  createdAt: isoTime,
  answeredAt: isoTime.nullable(),
  endedAt: isoTime.nullable(),
  endReason: z.string().nullable(),
  durationMs: z.number().nullable().describe('From creation to the end; null while the call runs'),
  nodeId: z.string().nullable().describe('The gateway node holding (or that held) the call (`cluster.nodeId`)'),
};

export const callSummary = z.object(callSummaryShape).meta({ id: 'CallSummary' });

export const callResource = z
  .object({
    ...callSummaryShape,
    transcript: z.array(
      z.object({ role: z.enum(['user', 'assistant', 'system']), text: z.string(), atMs: z.number(), interrupted: z.boolean().optional() }),
    ),
    toolCalls: z.array(
      z.object({
        toolCallId: z.string(),
        name: z.string(),
        startedAtMs: z.number(),
        durationMs: z.number(),
        outcome: z.enum(['ok', 'error', 'timeout', 'cancelled', 'refused']),
        resultPreview: z.string().optional(),
      }),
    ),
    turns: z
      .array(
        z.object({
          turn: z.number().int(),
          totalMs: z.number().describe('From the first mark to the last'),
          marks: z.array(
            z.object({
              name: z.string(),
              atMs: z.number().describe('Since the call was created'),
              sinceTurnStartMs: z.number(),
              sincePreviousMs: z.number(),
            }),
          ),
        }),
      )
      .describe('Per-turn latency waterfall'),
  })
  .meta({ id: 'Call' });

export const callListQuery = z.strictObject({
  ...pageQuery,
  state: z.enum(CALL_STATES as ['starting', 'ringing', 'active', 'ended']).optional(),
  agentId: idParam.optional(),
  since: isoTime.optional().describe('Created at or after'),
  until: isoTime.optional().describe('Created before'),
});

// ---- webhooks

const webhookUrl = z.string().url().regex(/^https?:\/\//i, 'an http(s) URL').max(2048);
const webhookEvents = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1);

export const webhookCreate = z
  .strictObject({
    url: webhookUrl,
    secret: z.string().min(16).max(256).optional().describe('Signing secret; generated (and returned once) when absent'),
    events: webhookEvents.optional().describe('Event types to receive; all when absent'),
  })
  .meta({ id: 'WebhookCreate' });

export const webhookPatch = z
  .strictObject({ url: webhookUrl.optional(), secret: z.string().min(16).max(256).optional(), events: webhookEvents.nullable().optional() })
  .meta({ id: 'WebhookPatch' });

export const webhookStats = z.object({
  queued: z.number().int(),
  inFlight: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  dropped: z.number().int(),
  retries: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastSuccessAt: isoTime.nullable(),
  lastFailureAt: isoTime.nullable(),
});

export const webhookResource = z
  .object({
    id: z.string(),
    url: z.string().describe('Credentials in the URL are masked'),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).nullable(),
    source: z.enum(['config', 'api']),
    createdAt: isoTime.nullable(),
    updatedAt: isoTime.nullable(),
    stats: webhookStats.describe('Since this process started'),
    secret: z.string().optional().describe('Only in the answer to a POST that generated it'),
  })
  .meta({ id: 'Webhook' });

export const webhookListQuery = z.strictObject({ ...pageQuery });
