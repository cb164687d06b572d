import { describe, expect, it } from 'vitest';
import {
  clientTool,
  parseClientToolResponse,
  type ClientToolConnection,
  type ClientToolInvocation,
  type ClientToolResponse,
} from '../../../src/room/client-tool.ts';
import { createToolContext } from '../../../src/room/tool.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { runToolLoop } from '../../../src/room/tool-loop.ts';
import { ToolSet } from '../../../src/room/tool-set.ts';

/** An in-memory client: the test plays the browser. */
class FakeClient implements ClientToolConnection {
  connected = true;
  readonly sent: ClientToolInvocation[] = [];
  onSend: (inv: ClientToolInvocation) => void = () => {};
  #responses = new Set<(r: ClientToolResponse) => void>();
  #disconnects = new Set<() => void>();
  send(invocation: ClientToolInvocation): void {
    this.sent.push(invocation);
    this.onSend(invocation);
  }
  onResponse(listener: (r: ClientToolResponse) => void): () => void {
    this.#responses.add(listener);
    return () => this.#responses.delete(listener);
  }
  onDisconnect(listener: () => void): () => void {
    this.#disconnects.add(listener);
    return () => this.#disconnects.delete(listener);
  }
  respond(r: ClientToolResponse): void {
    for (const l of [...this.#responses]) l(r);
  }
  disconnect(): void {
    this.connected = false;
    for (const l of [...this.#disconnects]) l();
  }
  get listeners(): number {
    return this.#responses.size + this.#disconnects.size;
  }
}

function showMap(client: FakeClient, timeoutMs?: number) {
  return clientTool(
    {
      name: 'show_map',
      description: 'Show a map in the app',
      dynamicParameters: [{ name: 'city', location: 'body', type: 'string', required: true }],
      automaticParameters: [{ name: 'sessionToken', location: 'body', knownValue: 'tok-secret' }],
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    },
    client,
  );
}

describe('clientTool', () => {
  it('sends {invocationId, toolName, parameters} and returns the matching result', async () => {
    const client = new FakeClient();
    client.onSend = (inv) => {
      // An unrelated answer first: must be ignored.
      client.respond({ invocationId: 'other', result: 'wrong' });
      setTimeout(() => client.respond({ invocationId: inv.invocationId, result: '{"shown":true}' }), 10);
    };
    const tool = showMap(client);
    expect(tool.definition.parameters).toEqual({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
    const result = await tool.handler('show_map', { city: 'Oslo' }, createToolContext());
    expect(result).toBe('{"shown":true}');
    expect(client.sent).toHaveLength(1);
    expect(client.sent[0]).toMatchObject({ toolName: 'show_map', parameters: { city: 'Oslo', sessionToken: 'tok-secret' } });
    expect(client.sent[0]?.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.listeners).toBe(0);
  });

  it('maps client errors to structured errors', async () => {
    const client = new FakeClient();
    const tool = showMap(client);
    client.onSend = (inv) => client.respond({ invocationId: inv.invocationId, errorType: 'implementation-error', errorMessage: 'map widget crashed' });
    expect(JSON.parse(await tool.handler('show_map', { city: 'x' }, createToolContext()))).toEqual({
      error: 'map widget crashed',
      tool: 'show_map',
      errorType: 'implementation-error',
    });
    client.onSend = (inv) => client.respond({ invocationId: inv.invocationId, errorType: 'undefined', errorMessage: '' });
    expect(JSON.parse(await tool.handler('show_map', { city: 'x' }, createToolContext())).error).toBe('the client does not implement tool show_map');
  });

  it('a disconnect or the deadline yields an error result', async () => {
    const client = new FakeClient();
    client.onSend = () => setTimeout(() => client.disconnect(), 10);
    expect(JSON.parse(await showMap(client).handler('show_map', { city: 'x' }, createToolContext())).error).toBe(
      'the client disconnected before answering',
    );
    expect(JSON.parse(await showMap(client).handler('show_map', { city: 'x' }, createToolContext())).error).toBe('the client is not connected');
    const silent = new FakeClient();
    expect(JSON.parse(await showMap(silent, 50).handler('show_map', { city: 'x' }, createToolContext())).error).toBe(
      'the client did not answer within 50 ms',
    );
    expect(silent.listeners).toBe(0);
  });

  it('an abort rejects and unsubscribes', async () => {
    const client = new FakeClient();
    const controller = new AbortController();
    const pending = showMap(client).handler('show_map', { city: 'x' }, createToolContext({ signal: controller.signal }));
    controller.abort();
    await expect(pending).rejects.toBeDefined();
    expect(client.listeners).toBe(0);
  });

  it('runs in the tool loop, hidden parameters never offered', async () => {
    const client = new FakeClient();
    client.onSend = (inv) => queueMicrotask(() => client.respond({ invocationId: inv.invocationId, result: 'ok' }));
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'show_map', arguments: { city: 'Rome' } } }], 'Shown.'] });
    const result = await runToolLoop({ provider: llm, messages: [{ role: 'user', content: 'map' }], tools: new ToolSet([showMap(client)]) });
    expect(result.reason).toBe('stop');
    expect(JSON.stringify(llm.requests)).not.toContain('sessionToken');
    expect(result.messages.find((m) => m.role === 'tool')?.content).toBe('ok');
  });

  it('parses client messages', () => {
    expect(parseClientToolResponse({ invocationId: 'a', result: 'x' })).toEqual({ invocationId: 'a', result: 'x' });
    expect(parseClientToolResponse({ invocationId: 'a', result: { n: 1 } })).toEqual({ invocationId: 'a', result: '{"n":1}' });
    expect(parseClientToolResponse({ invocationId: 'a', errorType: 'undefined' })).toEqual({ invocationId: 'a', errorType: 'undefined', errorMessage: '' });
    expect(parseClientToolResponse({ invocationId: 'a', errorType: 'bogus' })).toBeUndefined();
    expect(parseClientToolResponse({ result: 'x' })).toBeUndefined();
    expect(parseClientToolResponse('x')).toBeUndefined();
  });
});
