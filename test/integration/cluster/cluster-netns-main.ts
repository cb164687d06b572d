/**
 * Runs INSIDE a fresh network and PID namespace (started by cluster.test.ts; not a test file itself): the
 * deployment of cluster-deployment.ts (PostgreSQL, Kamailio with config/kamailio.cfg, node-1..3 on
 * 127.0.0.2..4), then the run: 15 calls from SIPp through Kamailio; the REST API of node 1 lists them all,
 * hangs up one that node 3 holds, and hands out a control URL for another (pointing at node 3) whose socket
 * is opened on node 1 anyway and relayed; node 2 gets SIGTERM while its calls are up and 15 more calls
 * start. It prints one line `CLUSTER_REPORT {json}` with what it saw; the test asserts on it. Everything it
 * started is stopped before it exits (and the PID namespace takes anything left with it).
 */
import { fileURLToPath } from 'node:url';
import { stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { describeSippResult, sippPassed, startSipp, type SippPeer, type SippResult } from '../../support/sip-peers/sipp.ts';
import { WsTestClient } from '../../support/ws-test-client.ts';
import { startDeployment, type CallRow, type Deployment } from './cluster-deployment.ts';

const SCENARIO = fileURLToPath(new URL('./uac-cluster.xml', import.meta.url));
const CALLS_PER_WAVE = Number(process.argv[2] ?? '15');

export type { CallRow } from './cluster-deployment.ts';

export interface ClusterReport {
  readonly ok: boolean;
  readonly error?: string;
  readonly timings: Record<string, number>;
  /** Live calls node 1's API listed during the first wave. */
  readonly activeListed: readonly CallRow[];
  readonly hungUp: { readonly callId: string; readonly nodeId: string | null; readonly status: number } | undefined;
  readonly control:
    | { readonly callId: string; readonly controlUrl: string; readonly messages: readonly string[]; readonly hangupEnded: boolean }
    | undefined;
  readonly sigtermAt: number;
  readonly node2Exit: { readonly exitCode: number | null; readonly signal: string | null; readonly at: number } | undefined;
  readonly waves: ReadonlyArray<{ readonly passed: boolean; readonly callIds: readonly string[]; readonly description: string; readonly startedAt: number }>;
  /** Every record at the end, read through node 3's API. */
  readonly records: readonly CallRow[];
  /** Transcript lines (`role: text`) of every record, by call id. */
  readonly transcripts: Readonly<Record<string, readonly string[]>>;
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly state: string; readonly public_url: string | null }>;
  readonly relayedHangupLogs: number;
  readonly proxyFailovers: number;
  /** Nodes 1 and 3 stopped with SIGTERM at the end: exit 0 within the grace. */
  readonly stops: ReadonlyArray<{ readonly node: string; readonly clean: boolean; readonly detail?: string }>;
}

function log(msg: string): void {
  process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function wave(calls: number): Promise<SippPeer> {
  return startSipp({
    scenario: { file: SCENARIO },
    target: '127.0.0.1:5060',
    calls,
    rate: 10,
    maxConcurrent: calls,
    traceMessages: true,
    timeoutMs: 90_000,
  });
}

function callIdsOf(r: SippResult): string[] {
  return [...new Set([...(r.messages ?? '').matchAll(/^Call-ID: (\S+)/gm)].map((m) => m[1] as string))];
}

async function main(): Promise<ClusterReport> {
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (name: string): void => {
    timings[name] = Date.now() - t0;
    log(name);
  };
  let d: Deployment | undefined;
  try {
    // All three nodes start at once on the empty database: their migrations take turns under the advisory lock.
    d = await startDeployment();
    const { pg, proxy, nodes, api, listCalls } = d;
    mark('deployment ready');

    const first = await wave(CALLS_PER_WAVE);
    const firstStartedAt = Date.now();
    const activeListed = await until('all first-wave calls active on node 1', async () => {
      const active = await listCalls(1, '&state=active');
      return active.length === CALLS_PER_WAVE ? active : undefined;
    });
    mark('first wave active');

    // Node 1 hangs up a call node 3 holds.
    const onNode3 = activeListed.filter((c) => c.nodeId === 'node-3');
    const victim = onNode3[0];
    let hungUp: ClusterReport['hungUp'];
    if (victim !== undefined) {
      const r = await api(1, 'DELETE', `/calls/${encodeURIComponent(victim.id)}`);
      hungUp = { callId: victim.id, nodeId: victim.nodeId, status: r.status };
      mark('api hang-up sent');
    }

    // A control URL for another call of node 3, asked of node 1: it points at node 3. The socket is opened
    // on node 1 all the same (a client behind a load balancer): relayed. Its hang_up ends the call.
    let control: ClusterReport['control'];
    const target = onNode3[1];
    if (target !== undefined) {
      const r = await api(1, 'POST', `/calls/${encodeURIComponent(target.id)}/control`);
      const controlUrl = (r.body as { controlUrl?: string }).controlUrl ?? '';
      const misdirected = controlUrl.replace('//127.0.0.4:8080', '//127.0.0.2:8080');
      const socket = await WsTestClient.connect(misdirected);
      await socket.next('call_started', 5_000);
      await socket.next('state', 5_000);
      socket.sendJson({ type: 'hang_up' });
      const ended = await socket.next('call_ended', 10_000).then(
        () => true,
        () => false,
      );
      await socket.close();
      control = { callId: target.id, controlUrl, messages: socket.messages.map((m) => m.type), hangupEnded: ended };
      mark('control socket relayed');
    }

    // Node 2 is stopped while its calls are up; the second wave starts right away.
    const node2 = nodes[1] as (typeof nodes)[number];
    const sigtermAt = Date.now();
    node2.process.kill('SIGTERM');
    const second = await wave(CALLS_PER_WAVE);
    const secondStartedAt = Date.now();
    mark('node 2 SIGTERM, second wave started');
    const node2Exited = node2.process.exited.then((e) => ({ ...e, at: Date.now() }));
    const [r1, r2, exit2] = await Promise.all([first.done, second.done, node2Exited]);
    mark('both waves done');

    // Records are written as calls end: give the last writes a moment, then read everything.
    const expected = new Set([...callIdsOf(r1), ...callIdsOf(r2)]);
    const records = await until('every record ended', async () => {
      const all = await listCalls(3);
      return all.length >= expected.size && all.every((c) => c.state === 'ended') ? all : undefined;
    }).catch(async () => listCalls(3));
    // The whole record of each call, read through node 1: the appends every node wrote (the greeting).
    const transcripts: Record<string, string[]> = {};
    for (const c of records) {
      const r = await api(1, 'GET', `/calls/${encodeURIComponent(c.id)}`);
      transcripts[c.id] = ((r.body as { transcript?: Array<{ role: string; text: string }> }).transcript ?? []).map((t) => `${t.role}: ${t.text}`);
    }
    const nodeRows = (await pg.sql('SELECT id, state, public_url FROM callroom.cluster_nodes ORDER BY id')) as unknown as ClusterReport['nodes'];
    const relayedHangupLogs = nodes[2]?.logsWith('hang-up from another node').length ?? 0;
    const proxyFailovers = (proxy.process.stderr.match(/failover INVITE/g) ?? []).length;
    mark('records read');
    const stops: Array<{ readonly node: string; readonly clean: boolean; readonly detail?: string }> = [];
    for (const [i, n] of nodes.entries()) {
      if (i === 1) continue;
      await n.stop(15_000).then(
        () => stops.push({ node: `node-${i + 1}`, clean: true }),
        (err: unknown) => stops.push({ node: `node-${i + 1}`, clean: false, detail: String(err).slice(0, 2000) }),
      );
    }
    mark('nodes stopped');
    return {
      ok: true,
      timings,
      activeListed,
      hungUp,
      control,
      sigtermAt,
      node2Exit: { exitCode: exit2.exitCode, signal: exit2.signal, at: exit2.at },
      waves: [
        { passed: sippPassed(r1), callIds: callIdsOf(r1), description: describeSippResult(r1).slice(-3000), startedAt: firstStartedAt },
        { passed: sippPassed(r2), callIds: callIdsOf(r2), description: describeSippResult(r2).slice(-3000), startedAt: secondStartedAt },
      ],
      records,
      transcripts,
      nodes: nodeRows,
      relayedHangupLogs,
      proxyFailovers,
      stops,
    };
  } finally {
    await d?.stop();
    await stopAllProcesses();
    log('cleaned up');
  }
}

main().then(
  (report) => {
    process.stdout.write(`CLUSTER_REPORT ${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    const error = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
    process.stdout.write(`CLUSTER_REPORT ${JSON.stringify({ ok: false, error })}\n`);
    process.exit(1);
  },
);
