/**
 * Runs INSIDE a fresh network and PID namespace, started by bench/cluster.bench.ts (not a bench file
 * itself): the deployment of test/integration/cluster/cluster-deployment.ts (Kamailio + node-1..3 + one
 * PostgreSQL), then SIPp calls through Kamailio at rising rates until a step has a failure. Each step: `rate`
 * calls per second for `STEP_S` seconds, each call held `HOLD_MS` (uac-load.xml: INVITE, 200, ACK, pause,
 * BYE), then a check that every call of the step has its record in PostgreSQL, ended, on one of the nodes.
 * Prints one line `CLUSTER_BENCH {json}`.
 */
import { fileURLToPath } from 'node:url';
import { stopAllProcesses } from '../test/support/sip-peers/managed-process.ts';
import { percentile } from '../test/support/sip-peers/sipp-stats.ts';
import { describeSippResult, runSipp, sippPassed } from '../test/support/sip-peers/sipp.ts';
import { startDeployment, type Deployment } from '../test/integration/cluster/cluster-deployment.ts';

const SCENARIO = fileURLToPath(new URL('../test/sip-scenarios/uac-load.xml', import.meta.url));
const RATES = (process.argv[2] ?? '10,20,30,40,60,80').split(',').map(Number);
const STEP_S = Number(process.argv[3] ?? '10');
const HOLD_MS = Number(process.argv[4] ?? '2000');

export interface BenchStep {
  readonly rate: number;
  readonly calls: number;
  readonly sippSuccessful: number;
  readonly sippFailed: number;
  readonly passed: boolean;
  /** INVITE to 200 through the proxy, ms. */
  readonly setupP50Ms: number;
  readonly setupP99Ms: number;
  readonly setupMaxMs: number;
  /** Records of this step in PostgreSQL, and how many are ended normally (caller-hangup). */
  readonly records: number;
  readonly recordsCallerHangup: number;
  readonly perNode: Readonly<Record<string, number>>;
  /** Records by state and end reason (`ended caller-hangup`, `active`, ...). */
  readonly outcomes: Readonly<Record<string, number>>;
  /** How long after SIPp finished the last record of the step was ended, ms. */
  readonly recordsSettledMs: number;
  /** Wall time SIPp took for the step, ms (rate * STEP_S calls plus the hold). */
  readonly elapsedMs: number;
  readonly detail?: string;
}

export interface BenchReport {
  readonly ok: boolean;
  readonly error?: string;
  readonly holdMs: number;
  readonly stepSeconds: number;
  readonly steps: readonly BenchStep[];
}

async function step(d: Deployment, rate: number): Promise<BenchStep> {
  const calls = rate * STEP_S;
  const since = Date.now();
  const started = performance.now();
  const r = await runSipp({
    scenario: { file: SCENARIO },
    target: '127.0.0.1:5060',
    calls,
    rate,
    maxConcurrent: Math.max(50, rate * Math.ceil(HOLD_MS / 1000 + 3)),
    pauseMs: HOLD_MS,
    traceStat: true,
    traceRtt: { freq: 50 },
    timeoutMs: STEP_S * 1000 + HOLD_MS + 120_000,
  });
  const elapsedMs = performance.now() - started;
  const setups = (r.rtt ?? []).filter((x) => x.rtd === 1).map((x) => x.responseTimeMs);
  // Records are written as calls end: wait (bounded) until none of this step's is still open.
  const sippDone = Date.now();
  const deadline = sippDone + 30_000;
  let rows: Array<Record<string, unknown>> = [];
  for (;;) {
    rows = await d.pg.sql('SELECT node_id, state, end_reason FROM callroom.calls WHERE created_at >= $1', [since]);
    if (rows.every((x) => x['state'] === 'ended') || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const recordsSettledMs = Date.now() - sippDone;
  const outcomes: Record<string, number> = {};
  for (const x of rows) {
    const k = x['state'] === 'ended' ? `ended ${String(x['end_reason'])}` : String(x['state']);
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  const perNode: Record<string, number> = {};
  for (const x of rows) perNode[String(x['node_id'])] = (perNode[String(x['node_id'])] ?? 0) + 1;
  const callerHangup = rows.filter((x) => x['state'] === 'ended' && x['end_reason'] === 'caller-hangup').length;
  const passed = sippPassed(r) && (r.stats?.failedCalls ?? 1) === 0 && rows.length === calls && callerHangup === calls;
  return {
    rate,
    calls,
    sippSuccessful: r.stats?.successfulCalls ?? 0,
    sippFailed: r.stats?.failedCalls ?? calls,
    passed,
    setupP50Ms: percentile(setups, 50),
    setupP99Ms: percentile(setups, 99),
    setupMaxMs: setups.length === 0 ? Number.NaN : Math.max(...setups),
    records: rows.length,
    recordsCallerHangup: callerHangup,
    perNode,
    outcomes,
    recordsSettledMs,
    elapsedMs,
    ...(passed ? {} : { detail: describeSippResult(r).slice(-2500) }),
  };
}

async function main(): Promise<BenchReport> {
  const steps: BenchStep[] = [];
  let d: Deployment | undefined;
  try {
    d = await startDeployment();
    for (const rate of RATES) {
      const s = await step(d, rate);
      steps.push(s);
      process.stderr.write(`[cluster bench] ${rate} cps: ${s.passed ? 'ok' : 'FAILED'} (${s.sippSuccessful}/${s.calls}, records ${s.records}, setup p99 ${s.setupP99Ms} ms)\n`);
      if (!s.passed) break;
    }
    return { ok: true, holdMs: HOLD_MS, stepSeconds: STEP_S, steps };
  } finally {
    await d?.stop();
    await stopAllProcesses();
  }
}

main().then(
  (report) => {
    process.stdout.write(`CLUSTER_BENCH ${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stdout.write(`CLUSTER_BENCH ${JSON.stringify({ ok: false, error: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err), steps: [] })}\n`);
    process.exit(1);
  },
);
