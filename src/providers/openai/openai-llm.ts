import { randomUUID } from 'node:crypto';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { anySignal } from '../../core/abort.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, ToolCall, ToolDefinition } from '../types.ts';

type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;
type ToolParam = OpenAI.Chat.Completions.ChatCompletionFunctionTool;
type StreamParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsStreaming;
type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type FinishReason = Extract<LlmEvent, { type: 'done' }>['finishReason'];
type Usage = Extract<LlmEvent, { type: 'done' }>['usage'];

const PROVIDER = 'openai';

/** Options for {@link OpenAiLlm}. */
export interface OpenAiLlmOptions {
  readonly apiKey: string;
  /** API root including the version, e.g. `https://api.openai.com/v1` (the default) or any compatible server. */
  readonly baseUrl?: string;
  /** Default model; `LlmRequest.model` overrides it per request. */
  readonly model: string;
  /** Time allowed until the response headers arrive (the SDK's timeout); default 10 minutes. */
  readonly timeoutMs?: number;
  readonly organization?: string;
}

/** A tool call being assembled from streamed fragments, keyed by its `index`. */
interface PendingCall {
  id: string | undefined;
  name: string;
  args: string;
}

/**
 * OpenAI Chat Completions (and compatible servers) as an {@link LlmProvider}, on the official `openai`
 * SDK with streaming. The SDK never retries (`maxRetries: 0`): retries belong to the provider wrappers,
 * which need the `retryable` classification of every failure.
 */
export class OpenAiLlm implements LlmProvider {
  readonly name = PROVIDER;
  readonly #client: OpenAI;
  readonly #model: string;

  constructor(options: OpenAiLlmOptions) {
    this.#model = options.model;
    // Every option is given explicitly: left undefined, the SDK would read OPENAI_* environment
    // variables, and only the config loader may look at the environment.
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? 'https://api.openai.com/v1',
      organization: options.organization ?? null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      logLevel: 'off',
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
  }

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    if (signal?.aborted) throw new AbortedError();
    // Our own controller so that a consumer that stops iterating early also cancels the HTTP request.
    const local = new AbortController();
    const requestSignal = anySignal(signal, local.signal);
    const pending = new Map<number, PendingCall>();
    let finish: FinishReason | undefined;
    let usage: Usage;
    let emittedCalls = false;
    try {
      const chunks = await this.#client.chat.completions.create(this.#params(request), { signal: requestSignal });
      for await (const chunk of chunks) {
        if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices[0];
        if (choice === undefined) continue;
        const delta = choice.delta as Chunk['choices'][number]['delta'] & ReasoningDelta;
        const thinking = delta.reasoning_content ?? delta.reasoning;
        if (typeof thinking === 'string' && thinking.length > 0) yield { type: 'thinking', delta: thinking };
        if (typeof delta.content === 'string' && delta.content.length > 0) yield { type: 'text', delta: delta.content };
        for (const fragment of delta.tool_calls ?? []) addFragment(pending, fragment);
        if (choice.finish_reason) {
          finish = mapFinishReason(choice.finish_reason);
          // Calls are whole once the choice finishes; the usage chunk may still follow.
          for (const call of completeCalls(pending)) {
            emittedCalls = true;
            yield { type: 'tool_call', call };
          }
        }
      }
    } catch (err) {
      throw toProviderError(err, signal);
    } finally {
      local.abort();
    }
    // The SDK ends quietly when its request is aborted; the caller must still see the cancellation.
    if (signal?.aborted) throw new AbortedError();
    if (finish === undefined) {
      throw new ProviderError(PROVIDER, 'CR_PROVIDER_UNAVAILABLE', 'stream ended before the model finished', {
        retryable: true,
      });
    }
    // Some compatible servers answer "stop" even when the turn ends in tool calls.
    if (emittedCalls && finish === 'stop') finish = 'tool_calls';
    yield usage === undefined ? { type: 'done', finishReason: finish } : { type: 'done', finishReason: finish, usage };
  }

  #params(request: LlmRequest): StreamParams {
    const params: StreamParams = {
      model: request.model ?? this.#model,
      messages: request.messages.map(toMessageParam),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (request.tools !== undefined && request.tools.length > 0) params.tools = request.tools.map(toToolParam);
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.maxTokens !== undefined) params.max_completion_tokens = request.maxTokens;
    // thinkingBudget has no Chat Completions equivalent (reasoning_effort is a level, and non-reasoning
    // models reject it), so it is deliberately not sent.
    return params;
  }
}

/** Reasoning text as OpenAI-compatible servers stream it (DeepSeek/vLLM: reasoning_content; others: reasoning). */
interface ReasoningDelta {
  reasoning_content?: string | null;
  reasoning?: string | null;
}

function toMessageParam(message: ChatMessage): MessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user':
      return message.name === undefined
        ? { role: 'user', content: message.content }
        : { role: 'user', content: message.content, name: message.name };
    case 'assistant': {
      const calls = message.toolCalls ?? [];
      if (calls.length === 0) return { role: 'assistant', content: message.content };
      return {
        role: 'assistant',
        // The API wants null rather than "" next to tool calls.
        content: message.content.length > 0 ? message.content : null,
        tool_calls: calls.map((call) => ({
          id: call.id,
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        })),
      };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function toToolParam(tool: ToolDefinition): ToolParam {
  return {
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: { ...tool.parameters } },
  };
}

type ToolCallFragment = NonNullable<Chunk['choices'][number]['delta']['tool_calls']>[number];

/** The first fragment of a call carries id and name; later ones carry argument pieces under the same index. */
function addFragment(pending: Map<number, PendingCall>, fragment: ToolCallFragment): void {
  let call = pending.get(fragment.index);
  if (call === undefined) {
    call = { id: undefined, name: '', args: '' };
    pending.set(fragment.index, call);
  }
  if (fragment.id) call.id = fragment.id;
  if (fragment.function?.name) call.name += fragment.function.name;
  if (fragment.function?.arguments) call.args += fragment.function.arguments;
}

function completeCalls(pending: Map<number, PendingCall>): ToolCall[] {
  const calls = [...pending.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]): ToolCall => {
      if (call.name.length === 0) {
        throw new ProviderError(PROVIDER, 'CR_PROVIDER_PROTOCOL', 'streamed tool call has no function name', {
          retryable: true,
        });
      }
      return {
        // Some compatible servers omit ids; the tool loop needs one to pair results with calls.
        id: call.id ?? `call_${randomUUID()}`,
        name: call.name,
        // A call without arguments still has to parse as a JSON object downstream.
        arguments: call.args.trim().length > 0 ? call.args : '{}',
      };
    });
  pending.clear();
  return calls;
}

function mapFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    default:
      return 'other';
  }
}

/** Classify whatever the SDK or the network threw; our own ProviderErrors pass through. */
function toProviderError(err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted || err instanceof APIUserAbortError) return new AbortedError();
  if (err instanceof ProviderError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError(PROVIDER, 'CR_PROVIDER_TIMEOUT', 'request timed out', { retryable: true, cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new ProviderError(PROVIDER, 'CR_PROVIDER_UNAVAILABLE', `connection failed: ${err.message}`, {
      retryable: true,
      cause: err,
    });
  }
  if (err instanceof APIError) {
    if (err.status !== undefined) return ProviderError.fromStatus(PROVIDER, err.status, err.message, err);
    // An `error` object inside the event stream: the request itself was accepted, so only a request
    // the server calls invalid is final.
    const retryable = err.type !== 'invalid_request_error';
    const code = retryable ? 'CR_PROVIDER_UNAVAILABLE' : 'CR_PROVIDER_REJECTED';
    return new ProviderError(PROVIDER, code, `error in stream: ${err.message}`, { retryable, cause: err });
  }
  if (err instanceof SyntaxError) {
    return new ProviderError(PROVIDER, 'CR_PROVIDER_PROTOCOL', `malformed stream chunk: ${err.message}`, {
      retryable: true,
      cause: err,
    });
  }
  // fetch reports a connection cut mid-body as a TypeError ("terminated").
  return new ProviderError(PROVIDER, 'CR_PROVIDER_UNAVAILABLE', `stream interrupted: ${errorMessage(err)}`, {
    retryable: true,
    cause: err,
  });
}
