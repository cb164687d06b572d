/**
 * The deployment of docs/deploy.md on loopback addresses, for the cluster test and bench (both run it in a
 * fresh network namespace, so the fixed addresses and ports below are theirs alone):
 *
 *   PostgreSQL 127.0.0.1:5432 (initdb in a temporary directory)
 *   Kamailio   127.0.0.1:5060 with config/kamailio.cfg as shipped (dispatcher, OPTIONS probing, failover)
 *   node-N     127.0.0.(N+1): SIP :5060, HTTP :8080 (its publicUrl), RTP :20000-20999; the same database,
 *              token secret and API key; an agent with a short greeting (the demo LLM, flite, pocketsphinx)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, type GatewayProcess } from '../../support/gateway-process.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { runKamailio, type KamailioPeer } from '../../support/sip-peers/kamailio.ts';

const KAMAILIO_CFG = fileURLToPath(new URL('../../../config/kamailio.cfg', import.meta.url));
export const API_KEY = 'cluster-test-key-0123456789';
export const GREETING = 'Hello from the cluster.';

/** A call as GET /calls lists it. */
export interface CallRow {
  readonly id: string;
  readonly state: string;
  readonly nodeId: string | null;
  readonly endReason: string | null;
  readonly answeredAt: string | null;
  readonly endedAt: string | null;
  readonly createdAt: string;
}

export interface Deployment {
  readonly pg: PostgresServer;
  readonly proxy: KamailioPeer;
  /** node-1 .. node-N, in order. */
  readonly nodes: readonly GatewayProcess[];
  /** A REST call to node `n` (1-based). */
  api(n: number, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** GET /calls?limit=100&... on node `n`. */
  listCalls(n: number, query?: string): Promise<CallRow[]>;
  /** Stop whatever still runs (nodes with SIGTERM, Kamailio, PostgreSQL) and remove the files. */
  stop(): Promise<void>;
}

export function nodeAddress(n: number): string {
  return `127.0.0.${n + 1}`;
}

function startNode(n: number, pg: PostgresServer, tokenSecret: string, logLevel: 'info' | 'warn'): Promise<GatewayProcess> {
  const ip = nodeAddress(n);
  return startGatewayProcess({
    sipPort: 5060,
    rtp: { portMin: 20_000, portMax: 20_999 },
    startTimeoutMs: 60_000,
    timeoutMs: 900_000,
    logLevel,
    config: {
      log: { level: logLevel },
      sip: {
        listen: [{ transport: 'udp', host: ip, port: 5060 }],
        echo: false,
        unknownSource: 'reject',
        // Every INVITE comes from the proxy.
        trunks: [{ name: 'proxy', cidrs: ['127.0.0.1/32'] }],
      },
      rtp: { host: ip, portMin: 20_000, portMax: 20_999 },
      http: { enabled: true, host: ip, port: 8080, publicUrl: `http://${ip}:8080`, apiKeys: [API_KEY], tokenSecret },
      vad: { engine: 'energy' },
      storage: { driver: 'postgres', url: pg.url, password: pg.password, schema: 'callroom', poolSize: 5 },
      cluster: { nodeId: `node-${n}`, heartbeatMs: 500, nodeTimeoutMs: 15_000, commandTimeoutMs: 3_000 },
      agents: [{ name: 'cluster', greeting: GREETING }],
    },
  });
}

/** config/kamailio.cfg as shipped, with this run's addresses and node list defined ahead of its defaults. */
async function startProxy(dir: string, backends: readonly string[]): Promise<KamailioPeer> {
  const list = join(dir, 'dispatcher.list');
  await writeFile(list, `${backends.map((b) => `1 ${b}`).join('\n')}\n`);
  const shipped = await readFile(KAMAILIO_CFG, 'utf8');
  const defines = [
    '#!define SIP_LISTEN_UDP udp:127.0.0.1:5060',
    '#!define SIP_LISTEN_TCP tcp:127.0.0.1:5060',
    `#!define DISPATCHER_LIST "${list}"`,
    '#!define PING_FROM "sip:dispatcher@127.0.0.1:5060"',
    '#!define PING_INTERVAL 1',
    '#!define SIP_ALIAS "127.0.0.1:5060"',
  ];
  const [first, ...rest] = shipped.split('\n');
  return runKamailio({ backends, port: 5060, config: [first, ...defines, ...rest].join('\n'), timeoutMs: 900_000 });
}

/**
 * Start everything; the nodes start together on the empty database (their migrations take turns). Resolves
 * once Kamailio's first probes have had time to answer.
 */
export async function startDeployment(o: { readonly nodes?: number; readonly logLevel?: 'info' | 'warn' } = {}): Promise<Deployment> {
  const count = o.nodes ?? 3;
  const dir = await mkdtemp(join(tmpdir(), 'callroom-cluster-'));
  const tokenSecret = randomBytes(32).toString('base64url');
  let pg: PostgresServer | undefined;
  let proxy: KamailioPeer | undefined;
  const nodes: GatewayProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) if (n.process.running) await n.stop(20_000).catch(() => undefined);
    await proxy?.stop();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    pg = await startPostgres({ host: '127.0.0.1', port: 5432 });
    const server = pg;
    const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startNode(i + 1, server, tokenSecret, o.logLevel ?? 'info')));
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    proxy = await startProxy(
      dir,
      nodes.map((_, i) => `sip:${nodeAddress(i + 1)}:5060`),
    );
    // Probes every second: let the first ones answer.
    await new Promise((r) => setTimeout(r, 1_500));
  } catch (err) {
    await stop();
    throw err;
  }
  const api: Deployment['api'] = async (n, method, path, body) => {
    const res = await fetch(`http://${nodeAddress(n)}:8080${path}`, {
      method,
      headers: { 'x-api-key': API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };
  return {
    pg,
    proxy: proxy as KamailioPeer,
    nodes,
    api,
    async listCalls(n, query = '') {
      const r = await api(n, 'GET', `/calls?limit=100${query}`);
      if (r.status !== 200) throw new Error(`GET /calls on node ${n}: ${r.status} ${JSON.stringify(r.body)}`);
      return (r.body as { items: CallRow[] }).items;
    },
    stop,
  };
}
