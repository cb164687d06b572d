import { anySignal } from '../core/abort.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import {
  checkParameterNames,
  definitionError,
  dynamicParametersSchema,
  resolveKnownValue,
  type AutomaticParameter,
  type DynamicParameter,
  type ParameterLocation,
} from './tool-parameters.ts';
import { toolError, unknownToolResult, type Tool, type ToolArgs, type ToolContext } from './tool.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpToolOptions {
  readonly name: string;
  readonly description: string;
  readonly httpMethod: HttpMethod;
  /** `https://api.example.com/v1/orders/{orderId}`: placeholders only after the host, each a path parameter. */
  readonly baseUrlPattern: string;
  readonly dynamicParameters?: readonly DynamicParameter[];
  readonly automaticParameters?: readonly AutomaticParameter[];
  /** Default 6 s (Ultravox), timed on the call's clock (`ctx.clock`). */
  readonly timeoutMs?: number;
  /** Bodies larger than this are refused (default 256 KiB). */
  readonly maxResponseBytes?: number;
  /** Default true. */
  readonly interruptible?: boolean;
  /** For tests or a proxying fetch; default the global fetch. */
  readonly fetch?: typeof fetch;
}

export const DEFAULT_HTTP_TOOL_TIMEOUT_MS = 6_000;
export const DEFAULT_HTTP_TOOL_MAX_RESPONSE_BYTES = 256 * 1024;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'content-type']);
const PLACEHOLDER = /\{([^{}]+)\}/g;

type Placed = { readonly name: string; readonly location: ParameterLocation; readonly value: unknown; readonly automatic: boolean };

/**
 * An HTTP tool (Ultravox semantics): the model fills the dynamic parameters, the gateway adds the
 * automatic ones, and the request goes to the host of the definition only. What the model writes can
 * never change the destination: a path value containing `/`, `\` or `..` is refused (the rest is
 * percent-encoded), header values with CR/LF are refused, and redirects are not followed. Non-2xx
 * answers, network errors, timeouts and oversized bodies come back to the model as `{"error": ...}`
 * results. The automatic values (API keys, caller number) are scrubbed from whatever comes back, so an
 * upstream that echoes them cannot pass them to the model, history, webhooks or logs.
 */
export function httpTool(options: HttpToolOptions): Tool {
  const { name } = options;
  const dynamic = options.dynamicParameters ?? [];
  const automatic = options.automaticParameters ?? [];
  const all = [...dynamic, ...automatic];
  checkParameterNames(name, dynamic, automatic);
  const origin = checkPattern(name, options.baseUrlPattern, all);
  for (const p of all) {
    if (p.location === 'header' && (!HEADER_NAME.test(p.name) || FORBIDDEN_HEADERS.has(p.name.toLowerCase()))) {
      throw definitionError(name, `header ${p.name} cannot be set by a tool`);
    }
    if (p.location === 'body' && (options.httpMethod === 'GET' || options.httpMethod === 'DELETE')) {
      throw definitionError(name, `a ${options.httpMethod} request has no body for parameter ${p.name}`);
    }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TOOL_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_HTTP_TOOL_MAX_RESPONSE_BYTES;
  const doFetch = options.fetch ?? fetch;
  const pathPattern = options.baseUrlPattern.replace(/^https?:\/\/[^/?#]+/i, '');

  return {
    definition: { name, description: options.description, parameters: dynamicParametersSchema(dynamic) },
    timeoutMs: timeoutMs + 1_000,
    ...(options.interruptible === undefined ? {} : { interruptible: options.interruptible }),
    handler: async (called, args, ctx) => {
      if (called !== name) return unknownToolResult(called);
      const placed = place(dynamic, automatic, args, ctx);
      if (typeof placed === 'string') return placed;
      const built = buildRequest(options.baseUrlPattern, origin, placed);
      if (typeof built === 'string') return built;
      const scrub = secretScrubber(placed.filter((p) => p.automatic).map((p) => scalar(p.value)));
      // Only the method, the host and the pattern are logged: values may carry automatic secrets.
      const log = ctx.logger.child({ httpMethod: options.httpMethod, origin, pathPattern });
      log.debug('http tool request');
      const clock = ctx.clock ?? systemClock();
      const deadline = new AbortController();
      const timer = clock.setTimeout(() => deadline.abort(), timeoutMs);
      try {
        return await send(built, deadline.signal, ctx, log, clock, scrub);
      } finally {
        clock.clearTimeout(timer);
      }
    },
  };

  async function send(built: BuiltRequest, timeout: AbortSignal, ctx: ToolContext, log: Logger, clock: Clock, scrub: Scrub): Promise<string> {
    const started = clock.now();
    let response: Response;
    try {
      response = await doFetch(built.url, {
        method: options.httpMethod,
        headers: built.headers,
        redirect: 'manual',
        signal: anySignal(ctx.signal, timeout),
        ...(built.body === undefined ? {} : { body: built.body }),
      });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      if (timeout.aborted) return toolError(`HTTP request timed out after ${timeoutMs} ms`, { tool: name });
      const message = scrub(errorMessage(err));
      log.debug({ err: message }, 'http tool network error');
      return toolError(`network error: ${message}`, { tool: name });
    }
    const body = await readCapped(response, maxBytes, ctx, timeout);
    log.debug({ status: response.status, durationMs: Math.round(clock.now() - started) }, 'http tool response');
    if (body.kind === 'too_large') return toolError(`response larger than ${maxBytes} bytes`, { tool: name, status: response.status });
    if (body.kind === 'timeout') return toolError(`HTTP request timed out after ${timeoutMs} ms`, { tool: name });
    if (body.kind === 'failed') return toolError(`network error: ${scrub(body.message)}`, { tool: name });
    const text = scrub(body.text);
    if (response.status < 200 || response.status > 299) {
      return toolError(`HTTP ${response.status}`, { tool: name, status: response.status, body: text.slice(0, 2_000) });
    }
    return text === '' ? JSON.stringify({ status: response.status }) : text;
  }
}

/** Validate the pattern; return its origin (scheme and host), which no argument may change. */
function checkPattern(tool: string, pattern: string, params: ReadonlyArray<{ name: string; location: ParameterLocation }>): string {
  const head = /^(https?:\/\/[^/?#]+)(?:[/?#]|$)/i.exec(pattern);
  if (head === null) throw definitionError(tool, 'baseUrlPattern must be an absolute http(s) URL');
  const origin = head[1] as string;
  if (/[{}@]/.test(origin)) throw definitionError(tool, 'the host of baseUrlPattern must be fixed (no placeholders or credentials)');
  let parsed: URL;
  try {
    parsed = new URL(pattern.replace(PLACEHOLDER, 'x'));
  } catch {
    throw definitionError(tool, 'baseUrlPattern is not a valid URL');
  }
  if (parsed.origin !== new URL(origin).origin) throw definitionError(tool, 'baseUrlPattern has an ambiguous host');
  const placeholders = [...pattern.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  const pathParams = params.filter((p) => p.location === 'path').map((p) => p.name);
  for (const ph of placeholders) if (!pathParams.includes(ph)) throw definitionError(tool, `placeholder {${ph}} has no path parameter`);
  for (const pp of pathParams) if (!placeholders.includes(pp)) throw definitionError(tool, `path parameter ${pp} has no {${pp}} placeholder`);
  return new URL(origin).origin;
}

/** Pick each parameter's value: the model's for dynamic ones, the gateway's for automatic ones. */
function place(dynamic: readonly DynamicParameter[], automatic: readonly AutomaticParameter[], args: ToolArgs, ctx: ToolContext): Placed[] | string {
  const out: Placed[] = [];
  for (const p of dynamic) {
    const value = args[p.name];
    if (value === undefined || value === null) {
      if (p.required === true) return toolError(`missing required parameter ${p.name}`);
      continue;
    }
    out.push({ name: p.name, location: p.location, value, automatic: false });
  }
  // Automatic values come from their knownValue only: a model argument of the same name is never read.
  for (const p of automatic) {
    const value = resolveKnownValue(p, ctx);
    if (value !== undefined) out.push({ name: p.name, location: p.location, value, automatic: true });
  }
  return out;
}

interface BuiltRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

function buildRequest(pattern: string, origin: string, placed: readonly Placed[]): BuiltRequest | string {
  const pathValues = new Map<string, string>();
  const headers: Record<string, string> = { accept: 'application/json' };
  const query: Array<[string, string]> = [];
  const body: Record<string, unknown> = {};
  let hasBody = false;
  for (const p of placed) {
    if (p.location === 'body') {
      body[p.name] = p.value;
      hasBody = true;
      continue;
    }
    const text = scalar(p.value);
    // A lone surrogate cannot be percent-encoded (encodeURIComponent throws "URI malformed").
    if ((p.location === 'path' || p.location === 'query') && !text.isWellFormed()) {
      return toolError(`${p.location} parameter ${p.name} is not well-formed Unicode text (lone surrogate)`);
    }
    if (p.location === 'path') {
      if (typeof p.value === 'object') return toolError(`path parameter ${p.name} must be a string or number`);
      if (text === '' || /^\.+$/.test(text)) return toolError(`path parameter ${p.name} must not be empty or only dots`);
      // Encoding alone would keep these inside the segment, but servers and proxies that decode
      // before routing would not: refuse rather than trust every hop.
      if (/[/\\]|\.\./.test(text)) return toolError(`path parameter ${p.name} must not contain '/', '\\' or '..'`);
      pathValues.set(p.name, encodePathSegment(text));
    } else if (p.location === 'query') {
      query.push([p.name, text]);
    } else {
      // CR/LF would split the header (request smuggling); non-Latin-1 is not a valid header value.
      if (/[\r\n\0]/.test(text) || /[^\t\x20-\x7e\x80-\xff]/.test(text)) return toolError(`header parameter ${p.name} has characters a header cannot carry`);
      headers[p.name] = text;
    }
  }
  const filled = pattern.replace(PLACEHOLDER, (_m, key: string) => pathValues.get(key) ?? '\u0000');
  if (filled.includes('\u0000')) return toolError('a path parameter is missing');
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    return toolError('the request URL is not valid');
  }
  // Belt and braces: encoding already keeps values inside their path segment.
  if (url.origin !== origin) return toolError('the request would leave the tool host');
  for (const [k, v] of query) url.searchParams.append(k, v);
  if (hasBody) headers['content-type'] = 'application/json';
  return { url: url.toString(), headers, ...(hasBody ? { body: JSON.stringify(body) } : {}) };
}

type Scrub = (text: string) => string;

/** Secrets shorter than this are not scrubbed: replacing every "1" or "en" would garble results and hides nothing. */
const MIN_SCRUBBED_LENGTH = 4;

/**
 * Replace every occurrence of the automatic values, raw, JSON-escaped or percent-encoded, with
 * "[redacted]": an upstream that echoes the request (an error page quoting the URL, a body repeating
 * the API key) must not hand a secret to the model.
 */
function secretScrubber(values: readonly string[]): Scrub {
  const forms = new Set<string>();
  for (const v of values) {
    if (v.length < MIN_SCRUBBED_LENGTH) continue;
    forms.add(v);
    forms.add(JSON.stringify(v).slice(1, -1));
    if (v.isWellFormed()) {
      forms.add(encodeURIComponent(v));
      forms.add(new URLSearchParams({ v }).toString().slice(2));
    }
  }
  // Longest first, so a secret containing another is replaced whole.
  const ordered = [...forms].filter((f) => f.length >= MIN_SCRUBBED_LENGTH).sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const f of ordered) out = out.replaceAll(f, '[redacted]');
    return out;
  };
}

function scalar(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Percent-encode everything but RFC 3986 unreserved characters (encodeURIComponent leaves `!'()*`). */
function encodePathSegment(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

type BodyResult =
  | { kind: 'ok'; text: string }
  | { kind: 'too_large' }
  | { kind: 'timeout' }
  | { kind: 'failed'; message: string };

/** Read the body up to `max` bytes; stop reading (and drop the connection) beyond. */
async function readCapped(response: Response, max: number, ctx: ToolContext, timeout: AbortSignal): Promise<BodyResult> {
  if (response.body === null) return { kind: 'ok', text: '' };
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body.cancel().catch(() => undefined);
    return { kind: 'too_large' };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        return { kind: 'too_large' };
      }
      chunks.push(value);
    }
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    if (timeout.aborted) return { kind: 'timeout' };
    return { kind: 'failed', message: errorMessage(err) };
  }
  return { kind: 'ok', text: new TextDecoder().decode(Buffer.concat(chunks)) };
}
