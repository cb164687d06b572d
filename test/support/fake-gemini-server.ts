import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local Gemini API server speaking the real streaming wire protocol
 * (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, header `x-goog-api-key`, SSE
 * `data: {GenerateContentResponse}` events separated by CRLF CRLF, no end marker), so tests drive the
 * real `@google/genai` SDK. Replies are scripted per test, in order; every request is recorded.
 */

/** One scripted reply to the next request. */
export interface FakeGeminiReply {
  /** Non-200 sends `errorBody` as JSON instead of a stream. */
  readonly status?: number;
  readonly errorBody?: unknown;
  /** GenerateContentResponse objects, each sent as one `data:` event. */
  readonly chunks?: readonly unknown[];
  /** Wait this long before the status line. */
  readonly delayFirstByteMs?: number;
  /** Pause between events (default 1 ms). */
  readonly chunkDelayMs?: number;
  /** Destroy the connection after this many events (a mid-stream drop). */
  readonly dropAfterChunks?: number;
  /** Write each event in pieces of this many bytes (events split at arbitrary offsets). */
  readonly fragmentBytes?: number;
}

/** A request as the fake received it. */
export interface RecordedGeminiRequest {
  readonly method: string;
  /** Path without the query, e.g. `/v1beta/models/gemini-2.5-flash:streamGenerateContent`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly apiVersion: string;
  readonly model: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body. */
  readonly body: Record<string, unknown>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const STATUS_MESSAGES: Record<number, string> = {
  400: 'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
  401: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  403: 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.',
  404: 'models/unknown-model is not found for API version v1beta, or is not supported for generateContent.',
  429: 'You exceeded your current quota, please check your plan and billing details.',
  500: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  503: 'The model is overloaded. Please try again later.',
};

/** Error bodies shaped like the ones generativelanguage.googleapis.com returns. */
export function geminiErrorBody(status: number): unknown {
  return {
    error: {
      code: status,
      message: STATUS_MESSAGES[status] ?? 'Unknown error.',
      status: STATUS_NAMES[status] ?? 'UNKNOWN',
    },
  };
}

/** Finish reason and usage metadata of a scripted chunk. */
export interface GeminiChunkOptions {
  readonly finishReason?: string;
  readonly usage?: { readonly prompt: number; readonly candidates: number; readonly thoughts?: number };
}

/** One streamed GenerateContentResponse with a single candidate. */
export function geminiChunk(parts: readonly unknown[], options: GeminiChunkOptions = {}): Record<string, unknown> {
  const candidate: Record<string, unknown> = { content: { parts, role: 'model' }, index: 0 };
  if (options.finishReason !== undefined) candidate['finishReason'] = options.finishReason;
  const usage = options.usage;
  return {
    candidates: [candidate],
    usageMetadata:
      usage === undefined
        ? { promptTokenCount: 8, totalTokenCount: 8, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 8 }] }
        : {
            promptTokenCount: usage.prompt,
            candidatesTokenCount: usage.candidates,
            totalTokenCount: usage.prompt + usage.candidates + (usage.thoughts ?? 0),
            ...(usage.thoughts === undefined ? {} : { thoughtsTokenCount: usage.thoughts }),
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: usage.prompt }],
          },
    modelVersion: 'gemini-2.5-flash',
    responseId: 'fake-response-id',
  };
}

/** Chunks of a text answer: one chunk per piece, the last one with `finishReason: "STOP"`. */
export function geminiTextChunks(pieces: readonly string[], options: GeminiChunkOptions = {}): Record<string, unknown>[] {
  const finishReason = options.finishReason ?? 'STOP';
  if (pieces.length === 0) return [geminiChunk([{ text: '' }], { ...options, finishReason })];
  return pieces.map((piece, i) =>
    i === pieces.length - 1 ? geminiChunk([{ text: piece }], { ...options, finishReason }) : geminiChunk([{ text: piece }]),
  );
}

/** The fake server; start with {@link FakeGeminiServer.start}, stop with `close()`. */
export class FakeGeminiServer {
  readonly requests: RecordedGeminiRequest[] = [];
  readonly #server: Server;
  readonly #replies: FakeGeminiReply[] = [];
  #inFlight = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeGeminiServer> {
    const server = createServer();
    const fake = new FakeGeminiServer(server);
    server.on('request', (req, res) => void fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Base URL for the SDK's `httpOptions.baseUrl` (no version). */
  get baseUrl(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Responses still being written: an abort that really cancels the request brings this to 0. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Queue the reply to the next request. */
  enqueue(reply: FakeGeminiReply): void {
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
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):streamGenerateContent$/.exec(url.pathname);
    if (req.method !== 'POST' || route === null || url.searchParams.get('alt') !== 'sse') {
      sendJson(res, 404, geminiErrorBody(404));
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      sendJson(res, 400, geminiErrorBody(400));
      return;
    }
    this.requests.push({
      method: req.method,
      path: url.pathname,
      query: url.searchParams,
      apiVersion: route[1] ?? '',
      model: decodeURIComponent(route[2] ?? ''),
      headers: req.headers,
      body,
    });
    const reply = this.#replies.shift();
    if (reply === undefined) {
      sendJson(res, 500, { error: { code: 500, message: 'fake: no scripted reply', status: 'INTERNAL' } });
      return;
    }
    if (reply.delayFirstByteMs !== undefined && !(await wait(reply.delayFirstByteMs, gone.signal))) return;
    if (reply.status !== undefined && reply.status !== 200) {
      sendJson(res, reply.status, reply.errorBody ?? geminiErrorBody(reply.status));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-content-type-options': 'nosniff', server: 'scaffolding on HTTPServer2' });
    const events = (reply.chunks ?? []).map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`);
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
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
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
