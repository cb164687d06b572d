import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../../src/api/webhooks/signature.ts';
import type { CallWebhookEvent } from '../../../src/storage/call-record.ts';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.ts';

const CONFIG_SECRET = 'config-secret-0123456789';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; type: string; callId: string; seq: number; data: Record<string, unknown> };
  status: number;
}

/** A receiver on 127.0.0.1 that answers 503 to the first `failFirst` attempts of every event (by delivery id). */
class Receiver {
  readonly got: Received[] = [];
  readonly #attempts = new Map<string, number>();
  readonly failFirst: number | 'always';
  server!: Server;
  url = '';
  constructor(failFirst: number | 'always') {
    this.failFirst = failFirst;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const id = String(req.headers['x-callroom-delivery']);
        const n = (this.#attempts.get(id) ?? 0) + 1;
        this.#attempts.set(id, n);
        const status = this.failFirst === 'always' || n <= this.failFirst ? 503 : 200;
        this.got.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let h: ApiHarness;
let flaky: Receiver;
let dead: Receiver;

beforeEach(async () => {
  flaky = await new Receiver(2).start();
  dead = await new Receiver('always').start();
  h = await startApiHarness({
    webhookEndpoints: [
      { url: `${flaky.url}/flaky`, secret: CONFIG_SECRET },
      { url: `${dead.url}/dead`, secret: CONFIG_SECRET, events: ['call.ended'] },
    ],
    webhookDelivery: { maxAttempts: 4, initialBackoffMs: 5, maxBackoffMs: 20, timeoutMs: 2000, concurrency: 3 },
  });
});

afterEach(async () => {
  await h.close();
  await flaky.stop();
  await dead.stop();
});

function callEvents(callId: string, turns: number): CallWebhookEvent[] {
  const events: CallWebhookEvent[] = [{ type: 'call.started', callId, data: { agentId: null, agentName: 'bot', medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 }, metadata: {} } }];
  for (let i = 0; i < turns; i++) {
    events.push({ type: 'call.transcript', callId, data: { role: i % 2 === 0 ? 'user' : 'assistant', text: `turn ${i} ✓`, atMs: i * 100 } });
    events.push({ type: 'call.tool', callId, data: { phase: 'started', toolCallId: `t${i}`, name: 'lookup', startedAtMs: i * 100 + 10 } });
  }
  events.push({
    type: 'call.ended',
    callId,
    data: {
      endReason: 'caller-hangup',
      agentId: null,
      agentName: 'bot',
      medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 },
      createdAt: new Date(0).toISOString(),
      answeredAt: null,
      endedAt: new Date(1000).toISOString(),
      durationMs: 1000,
      metadata: {},
      transcript: [{ role: 'user', text: 'bye', atMs: 900 }],
      toolCalls: [],
      turns: [],
    },
  });
  return events;
}

describe('webhook delivery to real endpoints', () => {
  it('retries through failures, signs every attempt, keeps order per call, stops at the bound, and shows it all in stats', async () => {
    const calls = ['call-a', 'call-b', 'call-c'];
    const streams = calls.map((c) => callEvents(c, 3));
    // Interleave the calls as a busy gateway would.
    for (let i = 0; i < (streams[0]?.length ?? 0); i++) for (const s of streams) h.webhooks.publish(s[i] as CallWebhookEvent);
    await h.webhooks.flush();

    const perEvent = streams[0]?.length ?? 0;
    // Every event: two 503s then a 200.
    expect(flaky.got).toHaveLength(calls.length * perEvent * 3);
    for (const r of flaky.got) {
      expect(r.path).toBe('/flaky');
      expect(r.headers['content-type']).toBe('application/json');
      expect(verifyWebhookSignature(CONFIG_SECRET, r.headers['x-callroom-signature'] as string, r.raw, { nowSeconds: Math.floor(Date.now() / 1000) })).toBe(true);
    }
    for (const c of calls) {
      const delivered = flaky.got.filter((r) => r.status === 200 && r.body.callId === c);
      expect(delivered.map((r) => r.body.seq)).toEqual(Array.from({ length: perEvent }, (_, i) => i + 1));
      // Attempts of one call never overlap out of order: seq never goes back once an event is delivered.
      const seqs = flaky.got.filter((r) => r.body.callId === c).map((r) => r.body.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      const ended = delivered.at(-1)?.body;
      expect(ended).toMatchObject({ type: 'call.ended', data: { endReason: 'caller-hangup', transcript: [{ text: 'bye' }] } });
    }
    // The dead endpoint only wants call.ended: 3 events x 4 attempts, then it gives up.
    expect(dead.got).toHaveLength(3 * 4);
    expect(new Set(dead.got.map((r) => r.body.type))).toEqual(new Set(['call.ended']));
    expect(new Set(dead.got.map((r) => r.headers['x-callroom-attempt']))).toEqual(new Set(['1', '2', '3', '4']));

    const flakyStats = (await h.request('GET', '/webhooks/config-1')).body;
    expect(flakyStats).toMatchObject({ source: 'config', stats: { delivered: calls.length * perEvent, failed: 0, retries: calls.length * perEvent * 2, queued: 0 } });
    const deadStats = (await h.request('GET', '/webhooks/config-2')).body;
    expect(deadStats).toMatchObject({ events: ['call.ended'], stats: { delivered: 0, failed: 3, retries: 9, lastStatus: 503, lastError: 'HTTP 503' } });
    expect(JSON.stringify(deadStats)).not.toContain(CONFIG_SECRET);
    const metrics = await h.metrics.metrics();
    expect(metrics).toContain('callroom_webhook_events_total{endpoint="config-2",outcome="failed"} 3');
    expect(metrics).toContain(`callroom_webhook_events_total{endpoint="config-1",outcome="delivered"} ${calls.length * perEvent}`);
  });

  it('an endpoint that refuses connections counts network errors and gives up at the bound', async () => {
    const gone = await new Receiver(0).start();
    const url = gone.url;
    await gone.stop();
    const r = await h.request('POST', '/webhooks', { url, secret: 'gone-secret-0123456789' });
    const id = (r.body as { id: string }).id;
    h.webhooks.publish(callEvents('x', 0)[0] as CallWebhookEvent);
    await h.webhooks.flush();
    expect((await h.request('GET', `/webhooks/${id}`)).body).toMatchObject({ stats: { failed: 1, retries: 3, lastError: 'ECONNREFUSED', lastStatus: null } });
  });
});

describe('/webhooks routes', () => {
  it('POST generates a secret when none is given and returns it once; deliveries are signed with it', async () => {
    const ok = await new Receiver(0).start();
    try {
      const r = await h.request('POST', '/webhooks', { url: `${ok.url}/api`, events: ['call.transcript'] });
      expect(r.status).toBe(201);
      const created = r.body as { id: string; secret: string };
      expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(r.headers.location).toBe(`/webhooks/${created.id}`);
      const got = (await h.request('GET', `/webhooks/${created.id}`)).body as Record<string, unknown>;
      expect(got).not.toHaveProperty('secret');
      expect(JSON.stringify((await h.request('GET', '/webhooks')).body)).not.toContain(created.secret);
      h.webhooks.publish({ type: 'call.transcript', callId: 'c', data: { role: 'user', text: 'hi', atMs: 1 } });
      await h.webhooks.flush();
      expect(ok.got).toHaveLength(1);
      expect(verifyWebhookSignature(created.secret, ok.got[0]?.headers['x-callroom-signature'] as string, ok.got[0]?.raw as string, { nowSeconds: Math.floor(Date.now() / 1000) })).toBe(true);
    } finally {
      await ok.stop();
    }
  });

  it('lists config and API endpoints with paging; masks URL credentials', async () => {
    await h.request('POST', '/webhooks', { url: 'https://user:pass@hooks.example/x', secret: 's'.repeat(16) });
    const list = (await h.request('GET', '/webhooks?limit=2')).body as { items: Array<{ id: string; url: string; source: string }>; total: number };
    expect(list.total).toBe(3);
    expect(list.items.map((i) => i.source)).toEqual(['config', 'config']);
    const last = (await h.request('GET', '/webhooks?limit=2&page=2')).body as { items: Array<{ url: string; source: string }> };
    expect(last.items).toMatchObject([{ source: 'api', url: 'https://****@hooks.example/x' }]);
    expect((await h.request('GET', '/webhooks?page=3&limit=2')).body).toMatchObject({ items: [], total: 3 });
  });

  it('PATCH changes only given fields (events: null for all), 409 for config endpoints, DELETE then 404', async () => {
    const created = (await h.request('POST', '/webhooks', { url: 'https://hooks.example/x', secret: 's'.repeat(16), events: ['call.ended'] })).body as { id: string };
    const u = await h.request('PATCH', `/webhooks/${created.id}`, { url: 'https://hooks.example/y' });
    expect(u.body).toMatchObject({ url: 'https://hooks.example/y', events: ['call.ended'] });
    expect((await h.request('PATCH', `/webhooks/${created.id}`, { events: null })).body).toMatchObject({ events: null });
    expect(h.webhooks.endpoint(created.id)?.target).toMatchObject({ url: 'https://hooks.example/y', events: null, secret: 's'.repeat(16) });
    expect((await h.request('PATCH', `/webhooks/${created.id}`, { secret: 'short' })).status).toBe(400);
    expect((await h.request('PATCH', `/webhooks/${created.id}`, { url: 'ftp://x.example' })).status).toBe(400);
    expect((await h.request('PATCH', '/webhooks/config-1', { url: 'https://x.example' })).body).toMatchObject({ code: 'CR_API_READ_ONLY' });
    expect((await h.request('DELETE', '/webhooks/config-1')).status).toBe(409);
    expect((await h.request('DELETE', `/webhooks/${created.id}`)).status).toBe(204);
    expect(h.webhooks.endpoint(created.id)).toBeUndefined();
    for (const [m, b] of [['GET', undefined], ['DELETE', undefined], ['PATCH', { url: 'https://x.example' }]] as const) {
      expect((await h.request(m, `/webhooks/${created.id}`, b)).status).toBe(404);
    }
  });
});

describe('startWebhookDispatcher', () => {
  it('serves config endpoints and loads those stored through the API', async () => {
    const { startWebhookDispatcher } = await import('../../../src/api/webhooks/start-webhooks.ts');
    const { Registry } = await import('prom-client');
    const { silentLogger } = await import('../../../src/core/logger.ts');
    const { configSchema } = await import('../../../src/config/schema.ts');
    const stored = await h.storage.webhooks.create({ url: 'https://hooks.example/stored', secret: 'z'.repeat(16), events: null });
    const config = configSchema.parse({ webhooks: [{ url: 'https://hooks.example/cfg', secret: 'c'.repeat(16), events: ['call.ended'] }] });
    const d = await startWebhookDispatcher({ config, store: h.storage.webhooks, metrics: new Registry(), logger: silentLogger() });
    try {
      expect(d.endpoints().map((e) => [e.target.id, e.source])).toEqual([
        ['config-1', 'config'],
        [stored.id, 'api'],
      ]);
    } finally {
      await d.close();
    }
  });
});
