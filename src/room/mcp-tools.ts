import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallroomError, errorMessage } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { JsonSchema, ToolDefinition } from '../providers/types.ts';
import { toolError, unknownToolResult, type Tool, type ToolArgs, type ToolHandler } from './tool.ts';

export type McpTransportKind = 'streamable_http' | 'sse';

export interface McpToolProviderOptions {
  readonly url: string;
  /** Default `streamable_http`; `sse` for servers on the older HTTP+SSE transport. */
  readonly transport?: McpTransportKind;
  /** Keep only the tools this accepts (by name). */
  readonly toolFilter?: (name: string) => boolean;
  /** Sent with every HTTP request (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deadline of one `tools/call` (default 30 s); the tool loop's own timeout applies too. */
  readonly callTimeoutMs?: number;
  readonly clientName?: string;
  readonly logger?: Logger;
}

/** Pages of `tools/list` read before giving up on a server that never stops paging. */
const MAX_LIST_PAGES = 100;

interface McpContent {
  type: string;
  text?: string;
  mimeType?: string;
  resource?: { uri?: string; text?: string };
}

/**
 * Tools of an MCP server, over `@modelcontextprotocol/sdk` (RoomKit `MCPToolProvider`). The tools are
 * listed once at connect; `getTools()` gives tool objects, `getToolsAsDicts()` plain definitions for
 * binding metadata, and `asToolHandler()` a handler that answers unknown-tool for names it does not
 * serve, so it composes with other handlers.
 */
export class McpToolProvider {
  readonly url: string;
  readonly transportKind: McpTransportKind;
  readonly #client: Client;
  readonly #transport: Transport;
  readonly #callTimeoutMs: number;
  readonly #logger: Logger;
  #definitions: ToolDefinition[] = [];
  #names = new Set<string>();
  #connected = false;

  private constructor(options: McpToolProviderOptions) {
    this.url = options.url;
    this.transportKind = options.transport ?? 'streamable_http';
    this.#callTimeoutMs = options.callTimeoutMs ?? 30_000;
    this.#logger = (options.logger ?? silentLogger()).child({ mcp: options.url });
    const url = new URL(options.url);
    const requestInit: RequestInit = { headers: { ...(options.headers ?? {}) } };
    this.#transport =
      this.transportKind === 'sse' ? new SSEClientTransport(url, { requestInit }) : new StreamableHTTPClientTransport(url, { requestInit });
    this.#client = new Client({ name: options.clientName ?? 'callroom', version: '0.1.0' });
  }

  /** Connect, initialize and list the server's tools (filtered). */
  static async connect(options: McpToolProviderOptions, signal?: AbortSignal): Promise<McpToolProvider> {
    if (options.transport !== undefined && options.transport !== 'streamable_http' && options.transport !== 'sse') {
      throw new CallroomError('CR_MCP_TRANSPORT', `unsupported MCP transport: ${String(options.transport)}`);
    }
    const provider = new McpToolProvider(options);
    try {
      await provider.#client.connect(provider.#transport, signal === undefined ? {} : { signal });
      await provider.#list(options.toolFilter, signal);
    } catch (err) {
      await provider.#client.close().catch(() => undefined);
      throw new CallroomError('CR_MCP_CONNECT', `could not connect to MCP server ${options.url}: ${errorMessage(err)}`, {
        retryable: true,
        cause: err,
      });
    }
    provider.#connected = true;
    provider.#logger.info({ tools: provider.#definitions.length, transport: provider.transportKind }, 'connected to MCP server');
    return provider;
  }

  get connected(): boolean {
    return this.#connected;
  }

  get toolNames(): string[] {
    return this.#definitions.map((d) => d.name);
  }

  /** The server's tools as tool objects. */
  getTools(): Tool[] {
    return this.#definitions.map((definition) => ({
      definition,
      handler: (name, args, ctx) => (name === definition.name ? this.callTool(name, args, ctx.signal) : Promise.resolve(unknownToolResult(name))),
    }));
  }

  /** The server's tools as plain JSON definitions (binding metadata `tools`). */
  getToolsAsDicts(): ToolDefinition[] {
    return this.#definitions.map((d) => structuredClone(d) as ToolDefinition);
  }

  /** A handler serving this server's tools and answering unknown-tool for any other name. */
  asToolHandler(): ToolHandler {
    return (name, args, ctx) => (this.#names.has(name) ? this.callTool(name, args, ctx.signal) : Promise.resolve(unknownToolResult(name)));
  }

  /**
   * Call a tool; the result is the text content (JSON when the server returned only structured
   * content). Server-side tool errors and protocol failures come back as `{"error": ...}` results;
   * only an abort through `signal` rejects.
   */
  async callTool(name: string, args: ToolArgs, signal?: AbortSignal): Promise<string> {
    if (!this.#connected) return toolError(`MCP server ${this.url} is not connected`, { tool: name });
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await this.#client.callTool({ name, arguments: args }, undefined, {
        timeout: this.#callTimeoutMs,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      this.#logger.warn({ tool: name, err: errorMessage(err) }, 'MCP tool call failed');
      return toolError(`MCP tool ${name} failed: ${errorMessage(err)}`, { tool: name });
    }
    const text = renderContent((result.content ?? []) as McpContent[]);
    const structured = (result as { structuredContent?: unknown }).structuredContent;
    if (result.isError === true) return toolError(text === '' ? `MCP tool ${name} reported an error` : text, { tool: name });
    if (text === '' && structured !== undefined) return JSON.stringify(structured);
    return text;
  }

  async close(): Promise<void> {
    if (!this.#connected) return;
    this.#connected = false;
    if (this.#transport instanceof StreamableHTTPClientTransport) {
      // Tell the server the session is over; a server without session support answers 405, which is fine.
      await this.#transport.terminateSession().catch(() => undefined);
    }
    await this.#client.close().catch(() => undefined);
  }

  async #list(filter: ((name: string) => boolean) | undefined, signal: AbortSignal | undefined): Promise<void> {
    const definitions: ToolDefinition[] = [];
    const seen = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const listed = await this.#client.listTools(cursor === undefined ? {} : { cursor }, signal === undefined ? {} : { signal });
      for (const t of listed.tools) {
        if (filter !== undefined && !filter(t.name)) continue;
        definitions.push({ name: t.name, description: t.description ?? '', parameters: (t.inputSchema ?? { type: 'object' }) as JsonSchema });
      }
      cursor = listed.nextCursor;
      // A server that hands out the same cursor twice would page forever.
      if (cursor === undefined || cursor === '' || seen.has(cursor)) break;
      seen.add(cursor);
    }
    this.#definitions = definitions;
    this.#names = new Set(definitions.map((d) => d.name));
  }
}

function renderContent(content: readonly McpContent[]): string {
  return content
    .map((c) => {
      if (c.type === 'text') return c.text ?? '';
      if (c.type === 'resource' && typeof c.resource?.text === 'string') return c.resource.text;
      if (c.type === 'resource_link' || c.type === 'resource') return `[resource: ${c.resource?.uri ?? 'link'}]`;
      return `[${c.type}${c.mimeType === undefined ? '' : `: ${c.mimeType}`}]`;
    })
    .join('\n');
}
