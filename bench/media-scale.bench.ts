/**
 * One machine to its limit: concurrent G.711 echo calls with audio both ways (SIPp's RTP streamer against
 * `callroom serve`, both on this machine's 2 cores), swept over call counts and RTP I/O paths, each point run
 * several times on a fresh gateway; medians. The measurement is bench/sip-calls.bench.ts's concurrent run
 * (numbered frames, a capture of what the gateway sends, caller-side pacing, gateway CPU and RSS).
 *
 *   npx node bench/media-scale.bench.ts calls=250,500,1000,1500,2000 io=dgram,native runs=3 prio=-10
 *
 * `io=` takes config `rtp.io` values: dgram (node:dgram, the TypeScript path) and native (the batched addon).
 * The audio lasts long enough that every call is up for at least 12 s together (the ramp is 200 calls/s).
 * Printed per point: gateway CPU (% of one core), RSS, inbound loss, echoed share, caller-side pacing
 * |gap - 20 ms| p50/p99, calls failed, whole-machine busy and the load average before each run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { concurrentRun, repeated, setNiceness, writeAudio, type GatewayVariant } from './sip-calls.bench.ts';
import { printResults, type BenchResult } from './types.ts';

const CALLS = [250, 500, 1000, 1500, 2000];
const IOS: ReadonlyArray<NonNullable<GatewayVariant['io']>> = ['dgram', 'native'];
const RAMP_RATE = 200;

interface Plan {
  readonly calls: readonly number[];
  readonly ios: ReadonlyArray<NonNullable<GatewayVariant['io']>>;
  readonly runs: number;
}

function parse(args: readonly string[]): Plan {
  let calls = CALLS;
  let ios = IOS;
  let runs = 3;
  for (const a of args) {
    const [k, v = ''] = a.split('=');
    if (k === 'calls') calls = v.split(',').map(Number);
    else if (k === 'io') ios = v.split(',') as Array<NonNullable<GatewayVariant['io']>>;
    else if (k === 'runs') runs = Number(v);
    else if (k === 'prio') setNiceness(Number(v));
    else throw new Error(`unknown argument ${a}: calls=N,N io=dgram,native runs=K prio=NICE`);
  }
  return { calls, ios, runs };
}

const COLUMNS: ReadonlyArray<[string, string]> = [
  ['gateway CPU', 'CPU %core'],
  ['gateway RSS', 'RSS MB'],
  ['gateway RTP lost (inbound)', 'lost in'],
  ['gateway socket drops', 'sock drops'],
  ['echoed (all calls)', 'echoed %'],
  ['echoed, worst call', 'worst %'],
  ['pacing |gap-20ms| p50', 'pacing p50 ms'],
  ['pacing |gap-20ms| p99', 'pacing p99 ms'],
  ['failed calls (caller-experienced)', 'failed'],
  ['event-loop lag p99', 'loop lag p99 ms'],
  ['SIPp CPU', 'SIPp %core'],
  ['whole machine busy', 'machine %'],
];

export async function run(plan: Plan = { calls: CALLS, ios: IOS, runs: 3 }): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const table: string[] = [`| calls | io | ${COLUMNS.map((c) => c[1]).join(' | ')} | load before |`, `|${'---|'.repeat(COLUMNS.length + 3)}`];
  for (const n of plan.calls) {
    const seconds = Math.max(16, Math.ceil(n / RAMP_RATE + 14));
    const dir = await mkdtemp(join(tmpdir(), 'callroom-bench-scale-'));
    try {
      const media = await writeAudio(dir, seconds);
      for (const io of plan.ios) {
        const label = `${n} calls, io ${io}:`;
        const r = await repeated(label, plan.runs, () => concurrentRun(n, media, 'rtp_stream', { io }));
        results.push(...r);
        const get = (name: string): string => {
          const x = r.find((b) => b.name.startsWith(`${label} ${name}`));
          return x === undefined || Number.isNaN(x.value) ? '-' : String(Math.round(x.value * 100) / 100);
        };
        const load = r.find((b) => b.name === `${label} machine`)?.note?.split(' | ').map((m) => /load (\S+)/.exec(m)?.[1] ?? '?').join('/') ?? '?';
        table.push(`| ${n} | ${io} | ${COLUMNS.map(([k]) => get(k)).join(' | ')} | ${load} |`);
        console.error(table.join('\n'));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(table.join('\n'));
  return results;
}

if (import.meta.main) {
  printResults('media-scale', await run(parse(process.argv.slice(2))));
}
