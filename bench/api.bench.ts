/**
 * REST API throughput and latency over real HTTP on 127.0.0.1 (keep-alive, 16 requests in flight), with
 * the load generated in a worker thread so the server's event loop is measured, not the client's:
 *
 * 1. GET /agent-tools?search=... with 10,000 tools stored in SQLite: a tool name (11 match), a phrase whose
 *    trigrams every row shares (100 match; the worst case for the trigram index), a term nothing matches,
 *    and an empty search (the first page of 50).
 * 2. POST /calls with the websocket medium through the fake CallsPort of the API tests: validation, agent
 *    and tool look-up, a call record written to SQLite, a signed join token.
 *
 * Each figure: requests/s, p50 and p99 latency in ms, over 5 s after a 1 s warm-up. The machine is shared
 * (2 cores): treat figures as an order of magnitude. Run alone: `npx node bench/run.ts api`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { httpToolSchema } from '../src/config/agent-schema.ts';
import { startApiHarness, TEST_API_KEY, type ApiHarness } from '../test/support/api-harness.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const TOOLS = 10_000;
const CONCURRENCY = 16;
const WARM_MS = 1_000;
const RUN_MS = 5_000;

interface LoadResult {
  readonly latencies: number[];
  readonly statuses: Record<string, number>;
  readonly elapsedMs: number;
}

/** The load generator: plain JS run in a worker (keep-alive agent, CONCURRENCY loops, fixed duration). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, method, body, headers, concurrency, warmMs, runMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(url);
function once() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method, agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
(async () => {
  const latencies = [];
  const statuses = {};
  const warmUntil = performance.now() + warmMs;
  let measuring = false;
  let start = 0;
  let end = 0;
  async function loop() {
    for (;;) {
      const now = performance.now();
      if (!measuring && now >= warmUntil) { measuring = true; start = now; end = now + runMs; }
      if (measuring && now >= end) return;
      const r = await once();
      if (measuring && performance.now() <= end) {
        latencies.push(r.ms);
        statuses[r.status] = (statuses[r.status] || 0) + 1;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  agent.destroy();
  parentPort.postMessage({ latencies, statuses, elapsedMs: runMs });
})().catch((err) => { parentPort.postMessage({ error: String(err) }); });
`;

function load(url: string, method: string, body?: unknown): Promise<LoadResult> {
  const headers: Record<string, string> = { 'x-api-key': TEST_API_KEY };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { url, method, body: body === undefined ? undefined : JSON.stringify(body), headers, concurrency: CONCURRENCY, warmMs: WARM_MS, runMs: RUN_MS },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (m: LoadResult & { error?: string }) => {
      void worker.terminate();
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m);
    });
    worker.once('error', reject);
  });
}

function figures(name: string, r: LoadResult, expectStatus: number): BenchResult[] {
  const ok = r.statuses[String(expectStatus)] ?? 0;
  const total = Object.values(r.statuses).reduce((a, b) => a + b, 0);
  const note = ok === total ? `${total} requests, all ${expectStatus}` : `${total} requests, statuses ${JSON.stringify(r.statuses)}`;
  return [
    { name: `${name} throughput`, value: Math.round(total / (r.elapsedMs / 1000)), unit: 'req/s', note },
    { name: `${name} p50`, value: percentile(r.latencies, 50), unit: 'ms' },
    { name: `${name} p99`, value: percentile(r.latencies, 99), unit: 'ms' },
  ];
}

async function seedTools(h: ApiHarness): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < TOOLS; i++) {
    const n = String(i).padStart(5, '0');
    await h.storage.tools.create({
      name: `tool_${n}`,
      tool: {
        type: 'http',
        definition: httpToolSchema.parse({
          name: `lookup_${n}`,
          description: `Looks up order status in region ${i % 100}, shard ${n}`,
          httpMethod: 'GET',
          baseUrlPattern: `https://orders.example/r${i % 100}/{orderId}`,
          dynamicParameters: [{ name: 'orderId', location: 'path', required: true }],
          automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: `key-${n}-0123456789abcdef` }],
        }),
      },
    });
  }
  return performance.now() - started;
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'callroom-api-bench-'));
  const h = await startApiHarness({ dataDir: join(dir, 'data'), listen: true, api: { maxConcurrentCalls: 1_000_000_000 } });
  const results: BenchResult[] = [];
  try {
    const seedMs = await seedTools(h);
    results.push({ name: 'seed 10,000 tools (storage.tools.create)', value: Math.round(TOOLS / (seedMs / 1000)), unit: 'inserts/s' });
    const base = h.baseUrl as string;

    const searches: Array<[string, string]> = [
      ['lookup_0042', 'name'],
      ['region%2042%2C', 'shared trigrams'],
      ['no-such-tool', 'no match'],
      ['', 'empty, first page'],
    ];
    for (const [term, what] of searches) {
      const url = `/agent-tools?search=${term}`;
      const total = ((await h.request('GET', url)).body as { total: number }).total;
      results.push(...figures(`GET ${url} [${what}, ${total} hits]`, await load(`${base}${url}`, 'GET'), 200));
    }

    const agent = (await h.request('POST', '/agents', { name: 'bench' })).body as { id: string };
    const tool = (await h.request('GET', '/agent-tools?limit=1')).body as { items: Array<{ id: string }> };
    await h.request('POST', `/agents/${agent.id}/tools`, { toolIds: [tool.items[0]?.id] });
    const body = { agentId: agent.id, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 24000 }, metadata: { bench: '1' } };
    results.push(...figures('POST /calls [websocket, fake port]', await load(`${base}/calls`, 'POST', body), 201));
  } finally {
    await h.close();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.main) printResults('api.bench.ts', await run());
