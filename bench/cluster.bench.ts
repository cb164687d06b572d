/**
 * Calls per second through Kamailio to three Callroom nodes on one PostgreSQL, with zero failures: the
 * deployment of docs/deploy.md on loopback addresses in fresh network and PID namespaces
 * (bench/cluster-netns-main.ts), SIPp placing calls at the proxy at rising rates (10 s per step, each
 * call held 2 s, agent calls with a short greeting: a record per call in PostgreSQL, a greeting spoken by
 * flite), stopping at the first step with a failure — a call SIPp counts failed, or a call without its
 * ended record.
 *
 * Figures: the highest rate with zero failures, the highest that also kept call set-up p99 under a second,
 * and per step: INVITE-to-200 p50/p99 through the proxy, record outcomes and the spread over the nodes. Everything (3 nodes, Kamailio, PostgreSQL, SIPp) shares this machine's cores,
 * so the figure is what one small machine does with the whole cluster on it, not a per-node capacity.
 * Run alone: `npx node bench/run.ts cluster` (rates: CLUSTER_BENCH_RATES=10,20,40).
 */
import { fileURLToPath } from 'node:url';
import { startProcess } from '../test/support/sip-peers/managed-process.ts';
import type { BenchReport } from './cluster-netns-main.ts';
import type { BenchResult } from './types.ts';

const MAIN = fileURLToPath(new URL('./cluster-netns-main.ts', import.meta.url));

export async function run(): Promise<BenchResult[]> {
  // The rates come from the environment here (the bench runner passes no arguments); the config loader is not involved.
  const rates = process.env['CLUSTER_BENCH_RATES'] ?? '10,20,30,40,60,80';
  const user = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['-r'] : [];
  const proc = await startProcess({
    command: 'unshare',
    args: [...user, '-n', '-p', '-f', '--kill-child', '-m', '--mount-proc', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'callroom-cluster-bench', process.execPath, MAIN, rates],
    name: 'cluster bench',
    timeoutMs: 30 * 60_000,
    maxOutputChars: 2_000_000,
  });
  const exit = await proc.exited;
  const line = exit.stdout.split('\n').find((l) => l.startsWith('CLUSTER_BENCH '));
  if (line === undefined) throw new Error(`cluster bench printed no report\n${exit.stderr.slice(-4000)}`);
  const report = JSON.parse(line.slice('CLUSTER_BENCH '.length)) as BenchReport;
  if (!report.ok) throw new Error(`cluster bench failed: ${report.error ?? ''}\n${exit.stderr.slice(-4000)}`);
  const passed = report.steps.filter((s) => s.passed);
  const best = passed.at(-1);
  const firstFailure = report.steps.find((s) => !s.passed);
  const results: BenchResult[] = [
    {
      name: 'cps with 0 failures (3 nodes)',
      value: best?.rate ?? 0,
      unit: 'calls/s',
      note: `${best?.calls ?? 0} calls, each with its record; ${firstFailure === undefined ? 'highest rate tried' : `${firstFailure.rate} cps: ${firstFailure.sippFailed} failed, ${firstFailure.records}/${firstFailure.calls} records`}`,
    },
  ];
  // Zero failures is not a service level: the same, with call set-up (INVITE to 200) p99 under a second.
  const quick = passed.filter((s) => s.setupP99Ms < 1_000).at(-1);
  results.push({
    name: 'cps with 0 failures, setup p99 < 1 s',
    value: quick?.rate ?? 0,
    unit: 'calls/s',
    note: quick === undefined ? 'no step met it' : `setup p99 ${quick.setupP99Ms} ms`,
  });
  for (const s of report.steps) {
    results.push(
      { name: `${s.rate} cps: setup p50`, value: s.setupP50Ms, unit: 'ms', note: 'INVITE to 200 through Kamailio' },
      { name: `${s.rate} cps: setup p99`, value: s.setupP99Ms, unit: 'ms', note: `max ${s.setupMaxMs} ms` },
      {
        name: `${s.rate} cps: calls ok`,
        value: s.sippSuccessful,
        unit: `of ${s.calls}`,
        note: `${s.passed ? 'pass' : 'FAIL'}; records ${s.records} (${Object.entries(s.outcomes)
          .map(([k, c]) => `${c} ${k}`)
          .join(', ')}; last ended ${s.recordsSettledMs} ms after SIPp); ${Object.entries(s.perNode)
          .sort()
          .map(([n, c]) => `${n} ${c}`)
          .join(', ')}`,
      },
    );
  }
  return results;
}
