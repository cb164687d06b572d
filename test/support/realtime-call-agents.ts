/**
 * Speech-to-speech agents for call tests: an `AgentRuntime` whose realtime model is the real OpenAI or
 * Gemini adapter pointed at the local fakes (the spec parsed by the real schema, defaults applied), and a
 * local HTTP endpoint for HTTP tools that records what it was asked.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import { agentSchema, type AgentSpecInput } from '../../src/config/agent-schema.ts';
import type { Logger } from '../../src/core/logger.ts';
import { DemoLlm } from '../../src/providers/demo/demo-llm.ts';
import { GeminiLive } from '../../src/providers/gemini-live/gemini-live.ts';
import { OpenAiRealtime } from '../../src/providers/openai-realtime/openai-realtime.ts';
import type { Tool } from '../../src/room/tool.ts';
import { ToolPolicy } from '../../src/room/tool-policy.ts';
import type { FakeGeminiLiveServer } from './fake-gemini-live-server.ts';
import type { FakeOpenAiRealtimeServer } from './fake-openai-realtime-server.ts';

type RealtimeInput = NonNullable<AgentSpecInput['realtime']>;

interface AgentOptions {
  readonly spec?: Partial<AgentSpecInput>;
  readonly realtime?: Partial<RealtimeInput>;
  readonly tools?: readonly Tool[];
  readonly logger?: Logger;
}

/** An agent talking to the fake OpenAI Realtime server (over TLS with the fake's certificate). */
export function openAiAgent(fake: FakeOpenAiRealtimeServer, o: AgentOptions = {}): AgentRuntime {
  const spec = agentSchema.parse({ name: 'agent', ...o.spec, realtime: { provider: 'openai', ...o.realtime } });
  const realtime = new OpenAiRealtime({ apiKey: fake.options.apiKey, baseUrl: fake.baseUrl, ca: fake.ca, connectTimeoutMs: 5000, ...(o.logger === undefined ? {} : { logger: o.logger }) });
  return { spec, llm: new DemoLlm(), stt: [], tts: [], tools: o.tools ?? [], policy: ToolPolicy.permitAll(), realtime };
}

/** An agent talking to the fake Gemini Live server. */
export function geminiAgent(fake: FakeGeminiLiveServer, o: AgentOptions = {}): AgentRuntime {
  const spec = agentSchema.parse({ name: 'agent', ...o.spec, realtime: { provider: 'gemini', ...o.realtime } });
  const realtime = new GeminiLive({ apiKey: fake.options.apiKey, baseUrl: fake.baseUrl, connectTimeoutMs: 5000, ...(o.logger === undefined ? {} : { logger: o.logger }) });
  return { spec, llm: new DemoLlm(), stt: [], tts: [], tools: o.tools ?? [], policy: ToolPolicy.permitAll(), realtime };
}

export interface ToolRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A local HTTP endpoint for HTTP tools: answers with `respond`, keeps every request. */
export class ToolServer {
  readonly requests: ToolRequest[] = [];
  readonly #server: Server;
  #port = 0;

  constructor(respond: (req: ToolRequest) => { status: number; body: unknown }) {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const r: ToolRequest = { method: req.method ?? '', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, body };
        this.requests.push(r);
        const out = respond(r);
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
      });
    });
  }

  get base(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
