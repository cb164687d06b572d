import { randomUUID } from 'node:crypto';
import { ApiError, GoogleGenAI } from '@google/genai';
import type { Content, GenerateContentConfig, GenerateContentResponse, Part } from '@google/genai';
import { anySignal } from '../../core/abort.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest } from '../types.ts';

type FinishReason = Extract<LlmEvent, { type: 'done' }>['finishReason'];
type Usage = Extract<LlmEvent, { type: 'done' }>['usage'];

const PROVIDER = 'gemini';
/** Prefix of call ids we invent when Gemini gives none; such ids are never sent back to Gemini. */
const GENERATED_ID_PREFIX = 'gemini_';
/**
 * Google's documented stand-in for a missing `thoughtSignature` on a replayed function call (history
 * from another model, another process, or pruned). Gemini 3 rejects a replayed call without one.
 */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';
/** Signatures remembered per call id; bounded so a long-lived provider does not grow without limit. */
const MAX_SIGNATURES = 1024;

const CONTENT_FILTER_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Options for {@link GeminiLlm}. */
export interface GeminiLlmOptions {
  readonly apiKey: string;
  /** API host without the version, default `https://generativelanguage.googleapis.com`. */
  readonly baseUrl?: string;
  /** Default model, e.g. `gemini-2.5-flash`; `LlmRequest.model` overrides it per request. */
  readonly model: string;
  /** Default `v1beta` (function calling and thinking options live there). */
  readonly apiVersion?: string;
}

/**
 * Google Gemini (`generateContentStream`) as an {@link LlmProvider}, on the official `@google/genai`
 * SDK. The SDK's automatic function calling and automatic stream continuation are off: the room runs
 * tools and the provider wrappers own retries.
 */
export class GeminiLlm implements LlmProvider {
  readonly name = PROVIDER;
  readonly #ai: GoogleGenAI;
  readonly #model: string;
  /**
   * Gemini returns an opaque `thoughtSignature` on function calls that must be echoed when the call is
   * replayed. `ToolCall` has no field for it, so it is kept here by call id.
   */
  readonly #signatures = new Map<string, string>();

  constructor(options: GeminiLlmOptions) {
    this.#model = options.model;
    const apiVersion = options.apiVersion ?? 'v1beta';
    // Explicit backend and base URL: otherwise the SDK consults GOOGLE_GENAI_USE_VERTEXAI and
    // GOOGLE_GEMINI_BASE_URL, and only the config loader may read the environment.
    this.#ai = new GoogleGenAI({
      apiKey: options.apiKey,
      vertexai: false,
      apiVersion,
      httpOptions: { baseUrl: options.baseUrl ?? 'https://generativelanguage.googleapis.com', apiVersion },
    });
  }

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    if (signal?.aborted) throw new AbortedError();
    const model = request.model ?? this.#model;
    const { systemInstruction, contents } = toContents(request.messages, this.#signatures, model);
    // Our own controller so that a consumer that stops iterating early also cancels the HTTP request
    // (the SDK only releases its body reader).
    const local = new AbortController();
    const config: GenerateContentConfig = {
      abortSignal: anySignal(signal, local.signal),
      automaticFunctionCalling: { disable: true },
      automaticContinuation: false,
    };
    if (systemInstruction !== undefined) config.systemInstruction = systemInstruction;
    if (request.tools !== undefined && request.tools.length > 0) {
      config.tools = [
        {
          functionDeclarations: request.tools.map((tool) => ({
            name: tool.name,
            description: tool.description,
            // Plain JSON Schema, passed through untouched (the OpenAPI-subset `parameters` would not be).
            parametersJsonSchema: tool.parameters,
          })),
        },
      ];
    }
    if (request.temperature !== undefined) config.temperature = request.temperature;
    if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
    if (request.thinkingBudget !== undefined) {
      config.thinkingConfig = { thinkingBudget: request.thinkingBudget, includeThoughts: request.thinkingBudget !== 0 };
    }

    let finishReason: string | undefined;
    let blocked = false;
    let sawCall = false;
    let usage: Usage;
    try {
      const chunks = await this.#ai.models.generateContentStream({ model, contents, config });
      for await (const chunk of chunks) {
        usage = toUsage(chunk) ?? usage;
        if (chunk.promptFeedback?.blockReason !== undefined) blocked = true;
        const candidate = chunk.candidates?.[0];
        for (const part of candidate?.content?.parts ?? []) {
          if (part.functionCall !== undefined) {
            sawCall = true;
            yield { type: 'tool_call', call: this.#toolCall(part) };
          } else if (typeof part.text === 'string' && part.text.length > 0) {
            yield part.thought === true ? { type: 'thinking', delta: part.text } : { type: 'text', delta: part.text };
          }
        }
        if (candidate?.finishReason !== undefined) finishReason = candidate.finishReason;
      }
    } catch (err) {
      throw toProviderError(err, signal);
    } finally {
      local.abort();
    }
    if (signal?.aborted) throw new AbortedError();
    let finish: FinishReason;
    if (finishReason !== undefined) finish = mapFinishReason(finishReason, sawCall);
    else if (blocked) finish = 'content_filter';
    else {
      throw new ProviderError(PROVIDER, 'CR_PROVIDER_UNAVAILABLE', 'stream ended before the model finished', {
        retryable: true,
      });
    }
    yield usage === undefined ? { type: 'done', finishReason: finish } : { type: 'done', finishReason: finish, usage };
  }

  #toolCall(part: Part): { id: string; name: string; arguments: string } {
    const fc = part.functionCall ?? {};
    if (fc.name === undefined || fc.name.length === 0) {
      throw new ProviderError(PROVIDER, 'CR_PROVIDER_PROTOCOL', 'function call has no name', { retryable: true });
    }
    const id = fc.id !== undefined && fc.id.length > 0 ? fc.id : `${GENERATED_ID_PREFIX}${randomUUID()}`;
    if (part.thoughtSignature !== undefined) {
      if (this.#signatures.size >= MAX_SIGNATURES) {
        const oldest = this.#signatures.keys().next().value;
        if (oldest !== undefined) this.#signatures.delete(oldest);
      }
      this.#signatures.set(id, part.thoughtSignature);
    }
    return { id, name: fc.name, arguments: JSON.stringify(fc.args ?? {}) };
  }
}

/** System messages become the system instruction; the rest become alternating user/model contents. */
function toContents(
  messages: readonly ChatMessage[],
  signatures: ReadonlyMap<string, string>,
  model: string,
): { systemInstruction: string | undefined; contents: Content[] } {
  const system: string[] = [];
  const contents: Content[] = [];
  // Tool results name the function; take it from the call itself, which is authoritative.
  const callNames = new Map<string, string>();
  const needsSignature = modelGeneration(model) >= 3;
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        contents.push({ role: 'user', parts: [{ text: message.content }] });
        break;
      case 'assistant': {
        const parts: Part[] = [];
        if (message.content.length > 0) parts.push({ text: message.content });
        (message.toolCalls ?? []).forEach((call, index) => {
          callNames.set(call.id, call.name);
          const part: Part = {
            functionCall: {
              name: call.name,
              args: parseObject(call.arguments),
              ...(call.id.startsWith(GENERATED_ID_PREFIX) ? {} : { id: call.id }),
            },
          };
          // Parallel calls carry one signature, on the first call of the turn.
          const signature = signatures.get(call.id) ?? (index === 0 && needsSignature ? SKIP_SIGNATURE : undefined);
          if (signature !== undefined) part.thoughtSignature = signature;
          parts.push(part);
        });
        if (parts.length > 0) contents.push({ role: 'model', parts });
        break;
      }
      case 'tool': {
        const part: Part = {
          functionResponse: {
            name: callNames.get(message.toolCallId) ?? message.name,
            response: toResponseObject(message.content),
            ...(message.toolCallId.startsWith(GENERATED_ID_PREFIX) ? {} : { id: message.toolCallId }),
          },
        };
        // The results of one round of parallel calls go back together, in one user turn.
        const last = contents.at(-1);
        if (last?.role === 'user' && last.parts?.every((p) => p.functionResponse !== undefined)) last.parts.push(part);
        else contents.push({ role: 'user', parts: [part] });
        break;
      }
    }
  }
  return { systemInstruction: system.length > 0 ? system.join('\n\n') : undefined, contents };
}

/** Major version in names like `gemini-3-pro-preview` or `models/gemini-2.5-flash`; 0 if unknown. */
function modelGeneration(model: string): number {
  const match = /(?:^|\/)gemini-(\d+)/.exec(model);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

function parseObject(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    if (isPlainObject(value)) return value;
  } catch {
    // Arguments that are not JSON (e.g. history from another model) are replayed as no arguments.
  }
  return {};
}

/**
 * `functionResponse.response` must be an object. A JSON object result goes as is; anything else is
 * wrapped under `output`, the key Google's docs name for a function's output.
 */
function toResponseObject(content: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(content);
    return isPlainObject(value) ? value : { output: value };
  } catch {
    return { output: content };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toUsage(chunk: GenerateContentResponse): Usage {
  const meta = chunk.usageMetadata;
  if (meta === undefined) return undefined;
  const usage: { inputTokens?: number; outputTokens?: number } = {};
  if (meta.promptTokenCount !== undefined) usage.inputTokens = meta.promptTokenCount;
  // Thinking tokens are billed as output.
  if (meta.candidatesTokenCount !== undefined || meta.thoughtsTokenCount !== undefined) {
    usage.outputTokens = (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0);
  }
  return usage;
}

function mapFinishReason(reason: string, sawCall: boolean): FinishReason {
  // Gemini says STOP after function calls; the room needs to know the turn wants tool results.
  if (reason === 'STOP') return sawCall ? 'tool_calls' : 'stop';
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER_REASONS.has(reason)) return 'content_filter';
  return 'other';
}

/** The human part of an SDK error message, which embeds the JSON error body. */
function apiErrorMessage(raw: string): string {
  const start = raw.indexOf('{');
  if (start >= 0) {
    try {
      const body = JSON.parse(raw.slice(start)) as { error?: { message?: unknown; status?: unknown } };
      if (typeof body.error?.message === 'string') {
        return typeof body.error.status === 'string' ? `${body.error.status}: ${body.error.message}` : body.error.message;
      }
    } catch {
      // Not JSON after all; fall through to the raw text.
    }
  }
  return raw.length > 300 ? `${raw.slice(0, 300)}…` : raw;
}

/** Classify whatever the SDK or the network threw; our own ProviderErrors pass through. */
function toProviderError(err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new AbortedError();
  if (err instanceof ProviderError) return err;
  if (err instanceof ApiError) return ProviderError.fromStatus(PROVIDER, err.status, apiErrorMessage(err.message), err);
  const message = errorMessage(err);
  if (message.startsWith('exception parsing stream chunk') || message.startsWith('Incomplete JSON segment')) {
    return new ProviderError(PROVIDER, 'CR_PROVIDER_PROTOCOL', 'malformed stream chunk', { retryable: true, cause: err });
  }
  // fetch reports a refused connection as "fetch failed" and a cut mid-body as "terminated".
  return new ProviderError(PROVIDER, 'CR_PROVIDER_UNAVAILABLE', `request failed: ${message}`, { retryable: true, cause: err });
}
