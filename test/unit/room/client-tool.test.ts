import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
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

  it('the model cannot forge automatic parameters or add undeclared ones', async () => {
    const client = new FakeClient();
    client.onSend = (inv) => queueMicrotask(() => client.respond({ invocationId: inv.invocationId, result: 'ok' }));
    const tool = clientTool(
      {
        name: 'show_card',
        description: 'x',
        dynamicParameters: [{ name: 'text', location: 'body' }],
        automaticParameters: [
          { name: 'callerNumber', location: 'body', knownValue: (ctx) => ctx.roomMetadata['callerNumber'] as string | undefined },
          { name: 'sessionToken', location: 'body', knownValue: 'tok-real' },
        ],
      },
      client,
    );
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'show_card', arguments: { text: 'hi', callerNumber: '+1900SPOOF', sessionToken: 'tok-forged', isAdmin: true } } }],
        [{ toolCall: { name: 'show_card', arguments: { text: 'again', callerNumber: '+1900SPOOF' } } }],
        'done',
      ],
    });
    // First turn: no caller number known, so none is sent (the forged one is not a fallback).
    await runToolLoop({ provider: llm, messages: [{ role: 'user', content: 'x' }], tools: new ToolSet([tool]), roomMetadata: {} });
    expect(client.sent.map((s) => s.parameters)).toEqual([
      { text: 'hi', sessionToken: 'tok-real' },
      { text: 'again', sessionToken: 'tok-real' },
    ]);
    const known = await tool.handler('show_card', { text: 'k', callerNumber: '+1900SPOOF' }, createToolContext({ roomMetadata: { callerNumber: '+4712345678' } }));
    expect(known).toBe('ok');
    expect(client.sent.at(-1)?.parameters).toEqual({ text: 'k', callerNumber: '+4712345678', sessionToken: 'tok-real' });
  });

  it('with a JSON Schema, only its properties are forwarded, and an automatic name in it is a definition error', async () => {
    const client = new FakeClient();
    client.onSend = (inv) => client.respond({ invocationId: inv.invocationId, result: 'ok' });
    const tool = clientTool(
      {
        name: 'note',
        description: 'n',
        parameters: { type: 'object', properties: { body: { type: 'string' } } },
        automaticParameters: [{ name: 'userId', location: 'body', knownValue: 'u-1' }],
      },
      client,
    );
    await tool.handler('note', { body: 'b', userId: 'u-evil', extra: 1 }, createToolContext());
    expect(client.sent[0]?.parameters).toEqual({ body: 'b', userId: 'u-1' });
    expect(() =>
      clientTool(
        {
          name: 'bad',
          description: 'b',
          parameters: { type: 'object', properties: { userId: { type: 'string' } } },
          automaticParameters: [{ name: 'userId', location: 'body', knownValue: 'u-1' }],
        },
        client,
      ),
    ).toThrow(/automatic parameter userId/);
  });

  it('the answer deadline runs on the call context clock', async () => {
    const clock = new FakeClock();
    const silent = new FakeClient();
    let result: string | undefined;
    const pending = showMap(silent, 5_000)
      .handler('show_map', { city: 'x' }, createToolContext({ clock }))
      .then((r) => (result = r));
    await new Promise((r) => setTimeout(r, 10));
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 10));
    expect(result).toBeUndefined();
    clock.advance(1);
    const outcome = await Promise.race([pending, new Promise<string>((r) => setTimeout(() => r('deadline not on the clock'), 1_000))]);
    expect(JSON.parse(outcome).error).toBe('the client did not answer within 5000 ms');
    expect(silent.listeners).toBe(0);
    expect(clock.pending).toBe(0);
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
