/**
 * A room with an AI channel on an OpenAI-compatible model, an HTTP tool, an MCP server's tools, an
 * agent used as a tool, and a call-control tool guarded by the turn generation.
 *
 *   npx node examples/room-with-tools.ts --base-url http://127.0.0.1:11434/v1 --model llama3.1 \
 *     --api-key sk-... --say "What is 17 times 23, and is order 42 shipped?"
 *
 * Without --say it reads one user turn per line from stdin. Without --mcp-url it starts a small demo
 * MCP server (and, always, a demo orders API) on 127.0.0.1, so only the model needs the network.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { OpenAiLlm } from '../src/providers/openai/openai-llm.ts';
import { Agent } from '../src/room/agent.ts';
import { AiChannel } from '../src/room/ai-channel.ts';
import { defineTool } from '../src/room/define-tool.ts';
import { httpTool } from '../src/room/http-tool.ts';
import { McpToolProvider, type McpTransportKind } from '../src/room/mcp-tools.ts';
import { RoomKit } from '../src/room/room-kit.ts';

/** Where the example writes: the console by default, a buffer in its smoke test. */
export interface TextSink {
  write(text: string): unknown;
}

export interface ExampleSettings {
  readonly apiKey: string;
  readonly baseUrl: string | undefined;
  readonly model: string;
  readonly mcpUrl: string | undefined;
  readonly mcpTransport: McpTransportKind;
  readonly say: readonly string[];
  /** The conversation (default process.stdout). */
  readonly stdout?: TextSink;
  /** Tool traces (default process.stderr). */
  readonly stderr?: TextSink;
}

export interface ExampleResult {
  /** Whether the assistant ended the call with its hang_up tool. */
  readonly callEnded: boolean;
}

/** Run the example with explicit settings; returns when the conversation is over. */
export async function runExample(settings: ExampleSettings): Promise<ExampleResult> {
  const stdout = settings.stdout ?? process.stdout;
  const stderr = settings.stderr ?? process.stderr;
  const llm = new OpenAiLlm({ apiKey: settings.apiKey, model: settings.model, ...(settings.baseUrl === undefined ? {} : { baseUrl: settings.baseUrl }) });
  const ordersApi = await startOrdersApi();
  const demoMcp = settings.mcpUrl === undefined ? await startDemoMcp() : undefined;
  const mcp = await McpToolProvider.connect({ url: settings.mcpUrl ?? (demoMcp?.url as string), transport: settings.mcpTransport });
  let callEnded = false;

  // An HTTP tool: the model fills orderId (path) and verbose (query); the API key is automatic and hidden.
  const orderStatus = httpTool({
    name: 'order_status',
    description: 'Look up the shipping status of an order by its number.',
    httpMethod: 'GET',
    baseUrlPattern: `${ordersApi.url}/orders/{orderId}`,
    dynamicParameters: [
      { name: 'orderId', location: 'path', type: 'string', description: 'The order number', required: true },
      { name: 'verbose', location: 'query', type: 'boolean', description: 'Include the tracking history' },
    ],
    automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: ordersApi.key }],
  });

  // An agent used as a tool: it sees only its input and the shared state, and always returns control.
  const researcher = new Agent({
    name: 'researcher',
    instructions: 'You answer factual questions in one or two sentences. Use the tools when they help.',
    provider: llm,
    tools: mcp.getTools(),
  });

  // A call-control tool: acts only while its turn is live, so a barge-in makes a stale hangUp a no-op.
  const hangUp = defineTool({
    name: 'hang_up',
    description: 'End the conversation after saying goodbye.',
    parameters: z.object({}),
    run: (_args, ctx) => {
      const r = ctx.turn.act(() => {
        callEnded = true;
      });
      return r.done ? 'The call will end after your goodbye.' : 'Not ended: the caller interrupted.';
    },
  });

  const kit = new RoomKit();
  kit.registerChannel(
    new AiChannel({
      id: 'assistant',
      provider: llm,
      systemPrompt: 'You are a concise phone assistant. Use tools for order status and for questions you cannot answer directly.',
      tools: [orderStatus, researcher.asTool({ name: 'ask_researcher', description: 'Ask a research assistant a self-contained question.' }), ...mcp.getTools(), hangUp],
      limits: { maxToolRounds: 8, toolLoopTimeoutSeconds: 60 },
    }),
  );
  const room = kit.createRoom({ metadata: { callId: randomUUID() } });
  kit.attachChannel(room.id, 'assistant');
  kit.subscribeRoom(room.id, (e) => {
    if (e.type === 'TOOL_CALL_START') stderr.write(`\n[tools] ${e.calls.map((c) => `${c.name}(${c.arguments})`).join(', ')}\n`);
    if (e.type === 'TOOL_CALL_END') stderr.write(`[tool] ${e.name} ${e.status} in ${e.duration_ms.toFixed(0)} ms\n`);
  });

  const turnOnce = async (text: string): Promise<void> => {
    const turn = kit.userTurn(room.id, { text, source: 'console' });
    stdout.write('assistant> ');
    for await (const delta of turn.text) stdout.write(delta);
    const outcome = await turn.done;
    stdout.write(outcome.reason === 'stop' ? '\n' : `\n[turn ended: ${outcome.reason}${outcome.error ? ` - ${outcome.error.message}` : ''}]\n`);
  };

  try {
    if (settings.say.length > 0) {
      for (const line of settings.say) {
        stdout.write(`you> ${line}\n`);
        await turnOnce(line);
        if (callEnded) break;
      }
    } else {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      for (;;) {
        const line = (await rl.question('you> ')).trim();
        if (line === '' || line === '/quit') break;
        await turnOnce(line);
        if (callEnded) break;
      }
      rl.close();
    }
    if (callEnded) stdout.write('[call ended by the assistant]\n');
    return { callEnded };
  } finally {
    await kit.close();
    await mcp.close();
    await demoMcp?.close();
    await ordersApi.close();
  }
}

/** A fake orders API that checks its API key: what the HTTP tool calls. */
async function startOrdersApi(): Promise<{ url: string; key: string; close: () => Promise<void> }> {
  const key = randomUUID();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/orders\/([^/]+)$/.exec(url.pathname);
    if (req.headers['x-api-key'] !== key) return void res.writeHead(401).end('{"message":"bad key"}');
    if (match === null) return void res.writeHead(404).end('{"message":"no such order"}');
    const id = decodeURIComponent(match[1] as string);
    const body: Record<string, unknown> = { orderId: id, status: Number(id) % 2 === 0 ? 'shipped' : 'packing' };
    if (url.searchParams.get('verbose') === 'true') body['history'] = ['received', 'packing'];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return { ...(await listen(server)), key };
}

/** A demo MCP server (streamable HTTP) with one calculator tool. */
async function startDemoMcp(): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks).toString('utf8');
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (transport === undefined) {
        const created = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, created) });
        const mcp = new McpServer({ name: 'demo-calculator', version: '1.0.0' });
        mcp.registerTool('multiply', { description: 'Multiply two numbers', inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => ({
          content: [{ type: 'text', text: String(a * b) }],
        }));
        await mcp.connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, raw === '' ? undefined : JSON.parse(raw));
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  const { url, close } = await listen(server);
  return {
    url: `${url}/mcp`,
    close: async () => {
      for (const t of sessions.values()) await t.close();
      await close();
    },
  };
}

async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      'api-key': { type: 'string' },
      'base-url': { type: 'string' },
      model: { type: 'string', default: 'gpt-4o-mini' },
      'mcp-url': { type: 'string' },
      'mcp-transport': { type: 'string', default: 'streamable_http' },
      say: { type: 'string', multiple: true, default: [] },
    },
  });
  // Example-only convenience: fall back to OPENAI_API_KEY so the key need not appear in `ps`.
  // The gateway itself never reads the environment outside its config loader.
  const apiKey = values['api-key'] ?? process.env['OPENAI_API_KEY'];
  if (apiKey === undefined || apiKey === '') {
    process.stderr.write('usage: room-with-tools.ts --api-key KEY [--base-url URL] [--model NAME] [--mcp-url URL] [--mcp-transport streamable_http|sse] [--say TEXT]...\n');
    process.exit(2);
  }
  const transport = values['mcp-transport'];
  if (transport !== 'streamable_http' && transport !== 'sse') {
    process.stderr.write('--mcp-transport must be streamable_http or sse\n');
    process.exit(2);
  }
  await runExample({
    apiKey,
    baseUrl: values['base-url'],
    model: values.model,
    mcpUrl: values['mcp-url'],
    mcpTransport: transport,
    say: values.say,
  });
}
