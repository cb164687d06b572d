import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { McpToolProvider, type McpTransportKind } from '../../../src/room/mcp-tools.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { createToolContext } from '../../../src/room/tool.ts';

/** An MCP server in this process, reachable over real HTTP on 127.0.0.1 with both transports. */
class LocalMcpServer {
  readonly seenHeaders: Array<string | undefined> = [];
  readonly #http: Server;
  readonly #streamable = new Map<string, StreamableHTTPServerTransport>();
  readonly #sse = new Map<string, SSEServerTransport>();
  readonly #servers: McpServer[] = [];
  port = 0;

  constructor() {
    this.#http = createServer((req, res) => {
      this.seenHeaders.push(req.headers['x-api-key'] as string | undefined);
      this.#route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#http.listen(0, '127.0.0.1', resolve));
    this.port = (this.#http.address() as AddressInfo).port;
  }

  url(kind: McpTransportKind): string {
    return `http://127.0.0.1:${this.port}${kind === 'sse' ? '/sse' : '/mcp'}`;
  }

  async stop(): Promise<void> {
    for (const t of this.#streamable.values()) await t.close();
    for (const t of this.#sse.values()) await t.close();
    for (const s of this.#servers) await s.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #mcp(): McpServer {
    const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
    server.registerTool('add', { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => ({
      content: [{ type: 'text', text: String(a + b) }],
    }));
    server.registerTool('secret_admin', { description: 'must be filtered out', inputSchema: {} }, () => ({ content: [{ type: 'text', text: 'no' }] }));
    server.registerTool('fail', { description: 'always fails', inputSchema: {} }, () => ({
      content: [{ type: 'text', text: 'backend unavailable' }],
      isError: true,
    }));
    server.registerTool('slow', { description: 'waits', inputSchema: {} }, async (extra) => {
      await new Promise((resolve) => setTimeout(resolve, 2_000).unref());
      void extra;
      return { content: [{ type: 'text', text: 'late' }] };
    });
    this.#servers.push(server);
    return server;
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (url.pathname === '/mcp') {
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? this.#streamable.get(sid) : undefined;
      if (transport === undefined) {
        if (typeof sid === 'string') {
          res.writeHead(404).end();
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void this.#streamable.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId !== undefined) this.#streamable.delete(created.sessionId);
        };
        await this.#mcp().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
      return;
    }
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      this.#sse.set(transport.sessionId, transport);
      transport.onclose = () => void this.#sse.delete(transport.sessionId);
      await this.#mcp().connect(transport);
      return;
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      const transport = this.#sse.get(url.searchParams.get('sessionId') ?? '');
      if (transport === undefined) {
        res.writeHead(404).end();
        return;
      }
      await transport.handlePostMessage(req, res, body);
      return;
    }
    res.writeHead(404).end();
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

let server: LocalMcpServer;
let providers: McpToolProvider[] = [];
let kit: RoomKit | undefined;

beforeEach(async () => {
  server = new LocalMcpServer();
  await server.start();
});

afterEach(async () => {
  await kit?.close();
  kit = undefined;
  for (const p of providers) await p.close();
  providers = [];
  await server.stop();
});

async function connect(kind: McpTransportKind): Promise<McpToolProvider> {
  const p = await McpToolProvider.connect({
    url: server.url(kind),
    transport: kind,
    toolFilter: (name) => !name.startsWith('secret_'),
    headers: { 'x-api-key': 'k-123' },
  });
  providers.push(p);
  return p;
}

describe.each(['streamable_http', 'sse'] as const)('McpToolProvider over %s', (kind) => {
  it('lists filtered tools, sends the headers, and calls tools', async () => {
    const mcp = await connect(kind);
    expect(mcp.connected).toBe(true);
    expect(mcp.toolNames).toEqual(['add', 'fail', 'slow']);
    const dicts = mcp.getToolsAsDicts();
    expect(dicts[0]).toMatchObject({
      name: 'add',
      description: 'Add two numbers',
      parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
    });
    const ctx = createToolContext();
    const handler = mcp.asToolHandler();
    expect(await handler('add', { a: 2, b: 3 }, ctx)).toBe('5');
    expect(await handler('secret_admin', {}, ctx)).toBe('{"error":"Unknown tool: secret_admin"}');
    expect(JSON.parse(await handler('fail', {}, ctx))).toEqual({ error: 'backend unavailable', tool: 'fail' });
    const tools = mcp.getTools();
    expect(await tools[0]?.handler('add', { a: 40, b: 2 }, ctx)).toBe('42');
    // Every HTTP request carried the configured header.
    expect(server.seenHeaders.length).toBeGreaterThan(2);
    expect(new Set(server.seenHeaders)).toEqual(new Set(['k-123']));
  });

  it('serves an AI channel through asToolHandler + getToolsAsDicts', async () => {
    const mcp = await connect(kind);
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'add', arguments: { a: 19, b: 23 } } }], 'It is 42.'] });
    kit = new RoomKit();
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 'math', tools: mcp.getToolsAsDicts(), toolHandler: mcp.asToolHandler() }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'agent');
    const out = await kit.userTurn('r', { text: '19+23?' }, { streamText: false }).done;
    expect(out).toMatchObject({ reason: 'stop', text: 'It is 42.' });
    expect(llm.requests[0]?.tools?.map((t) => t.name)).toEqual(['add', 'fail', 'slow']);
    expect(llm.requests[1]?.messages.at(-1)).toMatchObject({ role: 'tool', name: 'add', content: '42' });
  });

  it('an abort through the signal rejects the call; a timeout is an error result', async () => {
    const mcp = await connect(kind);
    const controller = new AbortController();
    const pending = mcp.callTool('slow', {}, controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow();
    const fast = await McpToolProvider.connect({ url: server.url(kind), transport: kind, callTimeoutMs: 100 });
    providers.push(fast);
    expect(JSON.parse(await fast.callTool('slow', {}))).toMatchObject({ error: expect.stringMatching(/MCP tool slow failed: .*timed out/i) });
  });
});

describe('McpToolProvider errors', () => {
  it('a server that is not there fails connect with CR_MCP_CONNECT', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await expect(McpToolProvider.connect({ url: `http://127.0.0.1:${port}/mcp` })).rejects.toMatchObject({ code: 'CR_MCP_CONNECT' });
  });
});
