import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/core/clock.ts';
import { createLogger } from '../../../src/core/logger.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import type { EphemeralEvent } from '../../../src/room/events.ts';
import { httpTool, type HttpToolOptions } from '../../../src/room/http-tool.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { createToolContext } from '../../../src/room/tool.ts';
import { Upstream, type Seen } from '../../support/upstream-http.ts';

const API_KEY = 'sk-live-SECRET-4242';
const CALLER = '+15551230000';

let up: Upstream;
let other: Upstream;
let kit: RoomKit | undefined;
beforeEach(async () => {
  up = new Upstream();
  other = new Upstream();
  await up.start();
  await other.start();
});
afterEach(async () => {
  await kit?.close();
  kit = undefined;
  await up.stop();
  await other.stop();
});

function orderTool(extra: Partial<HttpToolOptions> = {}) {
  return httpTool({
    name: 'place_order',
    description: 'Place an order',
    httpMethod: 'POST',
    baseUrlPattern: `${up.base}/v1/stores/{storeId}/orders`,
    dynamicParameters: [
      { name: 'storeId', location: 'path', type: 'string', description: 'store', required: true },
      { name: 'lang', location: 'query', type: 'string', enum: ['en', 'de'] },
      { name: 'X-Idempotency-Key', location: 'header', type: 'string', required: true },
      { name: 'items', location: 'body', type: 'array', schema: { items: { type: 'string' } }, required: true },
      { name: 'rush', location: 'body', type: 'boolean' },
    ],
    automaticParameters: [
      { name: 'X-Api-Key', location: 'header', knownValue: API_KEY },
      { name: 'callId', location: 'query', knownValue: (ctx) => String(ctx.roomMetadata['callId']) },
      { name: 'callerNumber', location: 'body', knownValue: (ctx) => ctx.roomMetadata['callerNumber'] as string },
    ],
    ...extra,
  });
}

describe('httpTool', () => {
  it('places each parameter in header, query, path and body; automatic ones are hidden from the model and the logs', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', redactContent: false }, { write: (s: string) => void lines.push(s) });
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'place_order', arguments: { storeId: 'oslo-1', lang: 'de', 'X-Idempotency-Key': 'idem-9', items: ['pizza', 'cola'], rush: true } } }],
        'Ordered.',
      ],
    });
    kit = new RoomKit({ logger });
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 'orders', tools: [orderTool()] }));
    kit.createRoom({ id: 'r', metadata: { callId: 'call-77', callerNumber: CALLER } });
    kit.attachChannel('r', 'agent');
    const events: EphemeralEvent[] = [];
    kit.subscribeRoom('r', (e) => events.push(e));
    const out = await kit.userTurn('r', { text: 'order pizza and cola' }, { streamText: false }).done;
    expect(out.reason).toBe('stop');

    // The schema offered to the model: dynamic parameters only.
    const offered = llm.requests[0]?.tools?.[0];
    expect(offered?.parameters).toEqual({
      type: 'object',
      properties: {
        storeId: { type: 'string', description: 'store' },
        lang: { type: 'string', enum: ['en', 'de'] },
        'X-Idempotency-Key': { type: 'string' },
        items: { type: 'array', items: { type: 'string' } },
        rush: { type: 'boolean' },
      },
      required: ['storeId', 'X-Idempotency-Key', 'items'],
    });
    const offeredText = JSON.stringify(llm.requests[0]);
    for (const hidden of ['X-Api-Key', 'callId', 'callerNumber', API_KEY, CALLER]) expect(offeredText).not.toContain(hidden);

    // What the upstream got.
    expect(up.seen).toHaveLength(1);
    const req = up.seen[0] as Seen;
    expect(req.method).toBe('POST');
    const url = new URL(req.rawUrl, up.base);
    expect(url.pathname).toBe('/v1/stores/oslo-1/orders');
    expect(Object.fromEntries(url.searchParams)).toEqual({ lang: 'de', callId: 'call-77' });
    expect(req.headers['x-idempotency-key']).toBe('idem-9');
    expect(req.headers['x-api-key']).toBe(API_KEY);
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({ items: ['pizza', 'cola'], rush: true, callerNumber: CALLER });

    // The result reached the model.
    expect(llm.requests[1]?.messages.at(-1)).toMatchObject({ role: 'tool', content: '{"ok":true,"order":"o-1"}' });
    // Logs and the event stream never carry the automatic values.
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.some((l) => l.includes('http tool request'))).toBe(true);
    expect(lines.some((l) => l.includes('idem-9'))).toBe(true);
    for (const l of lines) {
      expect(l).not.toContain(API_KEY);
      expect(l).not.toContain(CALLER);
      expect(l).not.toContain('call-77');
    }
    expect(JSON.stringify(events)).not.toContain(API_KEY);
  });

  it.each([
    ['%2e%2e', '/v1/stores/%252e%252e/orders'],
    ['x?y=1#frag', '/v1/stores/x%3Fy%3D1%23frag/orders'],
    ['@127.0.0.2', '/v1/stores/%40127.0.0.2/orders'],
    ["it's (x)*", '/v1/stores/it%27s%20%28x%29%2A/orders'],
  ])('keeps the path value %j inside its segment', async (storeId, expectedPath) => {
    const tool = orderTool();
    const result = await tool.handler('place_order', { storeId, 'X-Idempotency-Key': 'k', items: [] }, createToolContext());
    expect(result).toBe('{"ok":true,"order":"o-1"}');
    expect(up.seen.map((s) => s.rawUrl.split('?')[0])).toEqual([expectedPath]);
  });

  it.each(['..', '.', ''])('refuses the path value %j without a request', async (storeId) => {
    const result = await orderTool().handler('place_order', { storeId, 'X-Idempotency-Key': 'k', items: [] }, createToolContext());
    expect(JSON.parse(result).error).toMatch(/must not be empty or only dots/);
    expect(up.seen).toHaveLength(0);
  });

  // Encoding would keep these inside the segment, but a server or proxy that decodes before routing
  // would not: they are refused outright (these two were once sent encoded, as ..%2Fadmin and a%2Fb).
  it.each(['../admin', 'a/b', 'a\\b', 'x..y', '..', '/', 'orders/../../admin', '..\\x'])('refuses the path value %j (/, \\ or ..) without a request', async (storeId) => {
    const result = JSON.parse(await orderTool().handler('place_order', { storeId, 'X-Idempotency-Key': 'k', items: [] }, createToolContext()));
    expect(result.error).toMatch(storeId === '..' ? /must not be empty or only dots/ : /^path parameter storeId must not contain '\/', '\\' or '\.\.'$/);
    expect(up.seen).toHaveLength(0);
  });

  it('refuses header values with CR/LF', async () => {
    const result = await orderTool().handler(
      'place_order',
      { storeId: 's', 'X-Idempotency-Key': 'k\r\nX-Injected: 1', items: [] },
      createToolContext(),
    );
    expect(JSON.parse(result).error).toMatch(/header parameter X-Idempotency-Key/);
    expect(up.seen).toHaveLength(0);
  });

  it('returns non-2xx answers as structured errors', async () => {
    up.reply = (_req, res) => void res.writeHead(409, { 'content-type': 'application/json' }).end('{"message":"duplicate"}');
    const result = JSON.parse(await orderTool().handler('place_order', { storeId: 's', 'X-Idempotency-Key': 'k', items: [] }, createToolContext()));
    expect(result).toEqual({ error: 'HTTP 409', tool: 'place_order', status: 409, body: '{"message":"duplicate"}' });
  });

  it('does not follow redirects to another host', async () => {
    up.reply = (_req, res) => void res.writeHead(302, { location: `${other.base}/steal` }).end();
    const result = JSON.parse(await orderTool().handler('place_order', { storeId: 's', 'X-Idempotency-Key': 'k', items: [] }, createToolContext()));
    expect(result).toMatchObject({ error: 'HTTP 302', status: 302 });
    expect(other.seen).toHaveLength(0);
  });

  it('returns network errors as structured errors', async () => {
    const base = other.base;
    await other.stop();
    other = new Upstream();
    await other.start();
    const tool = httpTool({ name: 'ping', description: 'p', httpMethod: 'GET', baseUrlPattern: `${base}/ping` });
    const result = JSON.parse(await tool.handler('ping', {}, createToolContext()));
    expect(result.error).toMatch(/^network error: /);
  });

  it('times out after the configured timeout (6 s by default)', async () => {
    up.reply = (_req, res) => void setTimeout(() => res.writeHead(200).end('{}'), 1_000).unref();
    const tool = httpTool({ name: 'slow', description: 's', httpMethod: 'GET', baseUrlPattern: `${up.base}/slow`, timeoutMs: 100 });
    const started = performance.now();
    const result = JSON.parse(await tool.handler('slow', {}, createToolContext()));
    expect(result).toEqual({ error: 'HTTP request timed out after 100 ms', tool: 'slow' });
    expect(performance.now() - started).toBeLessThan(900);
    expect(httpTool({ name: 'd', description: 'd', httpMethod: 'GET', baseUrlPattern: `${up.base}/` }).timeoutMs).toBe(7_000);
  });

  it('the default timeout really is 6 s: against a server that never answers, it fires at 6000 ms on the call clock, not before', async () => {
    const clock = new FakeClock();
    up.reply = () => {}; // never answers
    const tool = httpTool({ name: 'mute', description: 'm', httpMethod: 'GET', baseUrlPattern: `${up.base}/mute` });
    let result: string | undefined;
    const pending = tool.handler('mute', {}, createToolContext({ clock })).then((r) => (result = r));
    while (up.seen.length === 0) await new Promise((r) => setTimeout(r, 2));
    clock.advance(5_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(result).toBeUndefined();
    clock.advance(1);
    const outcome = await Promise.race([pending, new Promise<string>((r) => setTimeout(() => r('{"error":"no timeout at 6000 ms"}'), 2_000))]);
    expect(JSON.parse(outcome)).toEqual({ error: 'HTTP request timed out after 6000 ms', tool: 'mute' });
    expect(clock.pending).toBe(0);
  });

  it('caps the response size (declared and streamed)', async () => {
    const tool = httpTool({ name: 'big', description: 'b', httpMethod: 'GET', baseUrlPattern: `${up.base}/big`, maxResponseBytes: 1_000 });
    up.reply = (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(5_000));
    expect(JSON.parse(await tool.handler('big', {}, createToolContext())).error).toBe('response larger than 1000 bytes');
    up.reply = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 10; i++) res.write('q'.repeat(500));
      res.end();
    };
    expect(JSON.parse(await tool.handler('big', {}, createToolContext())).error).toBe('response larger than 1000 bytes');
    up.reply = (_req, res) => void res.writeHead(200).end('small');
    expect(await tool.handler('big', {}, createToolContext())).toBe('small');
  });

  it('cancels the request when the call is aborted (barge-in)', async () => {
    let closedBeforeReply: Promise<boolean> | undefined;
    up.reply = (_req, res) => {
      // The upstream sees the cancellation as its socket closing while the reply is still unsent.
      closedBeforeReply = new Promise((resolve) => res.on('close', () => resolve(!res.writableEnded)));
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200).end('{}');
      }, 2_000).unref();
    };
    const tool = httpTool({ name: 'slow', description: 's', httpMethod: 'GET', baseUrlPattern: `${up.base}/slow` });
    const controller = new AbortController();
    const pending = tool.handler('slow', {}, createToolContext({ signal: controller.signal }));
    while (closedBeforeReply === undefined) await new Promise((r) => setTimeout(r, 2));
    controller.abort();
    await expect(pending).rejects.toThrow();
    const closed = await Promise.race([closedBeforeReply, new Promise<string>((r) => setTimeout(() => r('upstream never saw the close'), 1_500))]);
    expect(closed).toBe(true);
  });

  it('rejects definitions that would let the destination move', () => {
    const base = { name: 't', description: 'd', httpMethod: 'GET' as const };
    expect(() => httpTool({ ...base, baseUrlPattern: 'http://{host}/x', dynamicParameters: [{ name: 'host', location: 'path' }] })).toThrow(/host/);
    expect(() => httpTool({ ...base, baseUrlPattern: 'http://user@127.0.0.1/x' })).toThrow(/host/);
    expect(() => httpTool({ ...base, baseUrlPattern: 'ftp://127.0.0.1/x' })).toThrow(/absolute http/);
    expect(() => httpTool({ ...base, baseUrlPattern: `${up.base}/x/{id}` })).toThrow(/placeholder \{id\}/);
    expect(() => httpTool({ ...base, baseUrlPattern: `${up.base}/x`, dynamicParameters: [{ name: 'id', location: 'path' }] })).toThrow(/no \{id\}/);
    expect(() => httpTool({ ...base, baseUrlPattern: `${up.base}/x`, dynamicParameters: [{ name: 'q', location: 'body' }] })).toThrow(/no body/);
    expect(() => httpTool({ ...base, baseUrlPattern: `${up.base}/x`, automaticParameters: [{ name: 'Host', location: 'header', knownValue: 'evil' }] })).toThrow(
      /header Host/,
    );
    expect(() =>
      httpTool({
        ...base,
        baseUrlPattern: `${up.base}/x`,
        dynamicParameters: [{ name: 'a', location: 'query' }],
        automaticParameters: [{ name: 'a', location: 'query', knownValue: 'x' }],
      }),
    ).toThrow(/declared twice/);
  });
});
