import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI Chat Completions server speaking the real streaming wire protocol
 * (`POST /v1/chat/completions`, SSE `data: {chunk}` events ending with `data: [DONE]`), so tests drive
 * the real `openai` SDK. Replies are scripted per test, in order; every request is recorded.
 */

/** One scripted reply to the next request. */
export interface FakeOpenAiReply {
  /** Non-200 sends `errorBody` as JSON instead of a stream. */
  readonly status?: number;
  readonly errorBody?: unknown;
  /** Chat completion chunk objects, each sent as one `data:` event. */
  readonly chunks?: readonly unknown[];
  /** Send `data: [DONE]` after the chunks (default true). */
  readonly sendDone?: boolean;
  /** Wait this long before the status line. */
  readonly delayFirstByteMs?: number;
  /** Pause between events (default 1 ms, so events tend to arrive in separate reads). */
  readonly chunkDelayMs?: number;
  /** Destroy the connection after this many events (a mid-stream drop). */
  readonly dropAfterChunks?: number;
  /** Write each event in pieces of this many bytes (events split at arbitrary offsets). */
  readonly fragmentBytes?: number;
}

/** A request as the fake received it. */
export interface RecordedOpenAiRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  readonly body: Record<string, unknown>;
}

/** Error bodies shaped like the ones api.openai.com returns. */
export function openAiErrorBody(status: number): unknown {
  switch (status) {
    case 401:
      return {
        error: {
          message: 'Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.',
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_api_key',
        },
      };
    case 429:
      return {
        error: {
          message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.',
          type: 'requests',
          param: 'requests',
          code: 'rate_limit_exceeded',
        },
      };
    case 400:
      return {
        error: {
          message: "Invalid value for 'temperature': must be between 0 and 2.",
          type: 'invalid_request_error',
          param: 'temperature',
          code: 'invalid_value',
        },
      };
    default:
      return {
        error: {
          message: 'The server had an error while processing your request. Sorry about that!',
          type: 'server_error',
          param: null,
          code: null,
        },
      };
  }
}

let chunkSeq = 0;

/** One `chat.completion.chunk` with a single choice. */
export function openAiChunk(delta: Record<string, unknown>, finishReason: string | null = null): Record<string, unknown> {
  return {
    id: `chatcmpl-fake${++chunkSeq}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    usage: null,
  };
}

/** The trailing usage chunk sent when `stream_options.include_usage` is on: no choices. */
export function openAiUsageChunk(promptTokens: number, completionTokens: number): Record<string, unknown> {
  return {
    id: `chatcmpl-fake${++chunkSeq}`,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_fake',
    choices: [],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
}

/** Chunks of a text answer: role chunk, one chunk per piece, then the finish chunk. */
export function openAiTextChunks(pieces: readonly string[], finishReason = 'stop'): Record<string, unknown>[] {
  return [
    openAiChunk({ role: 'assistant', content: '', refusal: null }),
    ...pieces.map((piece) => openAiChunk({ content: piece })),
    openAiChunk({}, finishReason),
  ];
}

/** A tool call for {@link openAiToolCallChunks}. */
export interface OpenAiScriptedCall {
  readonly id: string;
  readonly name: string;
  /** The arguments JSON as the model streams it, in pieces. */
  readonly argumentChunks: readonly string[];
}

/**
 * Chunks of a tool-calling answer as OpenAI streams it: optional text first, then per call a chunk
 * with `index`, `id`, `type`, `function.name` and empty arguments, then argument pieces by `index`,
 * then `finish_reason: "tool_calls"`.
 */
export function openAiToolCallChunks(calls: readonly OpenAiScriptedCall[], text?: string): Record<string, unknown>[] {
  const chunks: Record<string, unknown>[] = [openAiChunk({ role: 'assistant', content: text === undefined ? null : '', refusal: null })];
  if (text !== undefined) chunks.push(openAiChunk({ content: text }));
  calls.forEach((call, index) => {
    chunks.push(
      openAiChunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    for (const piece of call.argumentChunks) {
      chunks.push(openAiChunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(openAiChunk({}, 'tool_calls'));
  return chunks;
}

/** The fake server; start with {@link FakeOpenAiServer.start}, stop with `close()`. */
export class FakeOpenAiServer {
  readonly requests: RecordedOpenAiRequest[] = [];
  readonly #server: Server;
  readonly #replies: FakeOpenAiReply[] = [];
  #inFlight = 0;
  /** Served when the queue is empty (load benches: every request gets the same answer); none by default. */
  fallback: FakeOpenAiReply | undefined;
  /** Keep every request (default true; a long bench turns it off). */
  recordRequests = true;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeOpenAiServer> {
    const server = createServer();
    const fake = new FakeOpenAiServer(server);
    server.on('request', (req, res) => void fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Base URL for the SDK, including `/v1`. */
  get baseUrl(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  /** Responses still being written: an abort that really cancels the request brings this to 0. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queue the reply to the next request. */
  enqueue(reply: FakeOpenAiReply): void {
    this.#replies.push(reply);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inFlight++;
    // Aborted when the client goes away, so scripted delays never outlive the connection.
    const gone = new AbortController();
    res.on('close', () => {
      this.#inFlight--;
      gone.abort();
    });
    const raw = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      sendJson(res, 404, { error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    if (this.recordRequests) this.requests.push({ method: req.method, path: req.url, headers: req.headers, body });
    const reply = this.#replies.shift() ?? this.fallback;
    if (reply === undefined) {
      sendJson(res, 500, { error: { message: 'fake: no scripted reply', type: 'server_error', param: null, code: null } });
      return;
    }
    if (reply.delayFirstByteMs !== undefined && !(await wait(reply.delayFirstByteMs, gone.signal))) return;
    if (reply.status !== undefined && reply.status !== 200) {
      sendJson(res, reply.status, reply.errorBody ?? openAiErrorBody(reply.status));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_fake' });
    const events = (reply.chunks ?? []).map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`);
    if (reply.sendDone ?? true) events.push('data: [DONE]\n\n');
    for (const [i, event] of events.entries()) {
      if (reply.dropAfterChunks !== undefined && i >= reply.dropAfterChunks) {
        res.socket?.destroy();
        return;
      }
      for (const piece of fragments(event, reply.fragmentBytes)) {
        res.write(piece);
        if (reply.fragmentBytes !== undefined && !(await wait(0, gone.signal))) return;
      }
      if (!(await wait(reply.chunkDelayMs ?? 1, gone.signal))) return;
    }
    if (reply.dropAfterChunks !== undefined) {
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}

function fragments(text: string, size: number | undefined): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (size === undefined) return [bytes];
  const out: Buffer[] = [];
  // Split on bytes (a piece may end inside a UTF-8 sequence), as a network would.
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_fake' });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (the timer is cleared). */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
