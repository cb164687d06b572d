/**
 * Soak: many concurrent agent calls for a long time through the whole pipeline, watching the gateway for leaks.
 *
 * The gateway runs as its own process (`callroom serve`, test/support/gateway-process.ts) with a cloud agent:
 * Silero VAD, Deepgram (speechOnly fake: words from loud audio only), ElevenLabs and OpenAI through their real
 * SDKs against the wire fakes in this process (test/integration/ops/support/cloud-gateway.ts), every call recorded
 * (stereo WAV) and its record and webhooks-free events written to SQLite. SIPp keeps `calls` calls up: each lasts
 * `callSeconds` (the caller asks a question every 6 s), and a new one starts as one ends, for `seconds`.
 *
 * Every 10 s: the gateway's RSS (/proc), V8 heap used, open file descriptors and sockets (/proc/PID/fd), active
 * handles and timers (prom-client's nodejs_active_resources), event-loop lag p99, live calls. After the warm-up
 * (the first call length, at least a fifth of the run) each series gets a least-squares slope per minute: flat is
 * what a leak-free process shows (goal: RSS under 1 MB/min at 200 calls). Dropped calls: SIPp's failures, calls the
 * gateway ended other than by the caller's BYE, and calls without a record.
 *
 *   npx node bench/soak.bench.ts            200 calls, 10 minutes (calls of 60 s)
 *   npx node bench/soak.bench.ts short      50 calls, 60 s (calls of 20 s)
 *   npx node bench/soak.bench.ts calls=100 seconds=300 call=30 vad=energy
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { allCallRecords, startCloudGateway } from '../test/integration/ops/support/cloud-gateway.ts';
import { describeSippResult, startSipp } from '../test/support/sip-peers/sipp.ts';
import { machineSnapshot, metricSum, scrapeMetrics } from './sip-load-harness.ts';
import { printResults, type BenchResult } from './types.ts';

interface Plan {
  readonly calls: number;
  readonly seconds: number;
  readonly callSeconds: number;
  readonly vad: 'silero' | 'energy';
}

const FULL: Plan = { calls: 200, seconds: 600, callSeconds: 60, vad: 'silero' };
const SHORT: Plan = { calls: 50, seconds: 60, callSeconds: 20, vad: 'silero' };

export function parsePlan(args: readonly string[]): Plan {
  let plan: Plan = FULL;
  for (const a of args) {
    if (a === 'short') plan = { ...SHORT };
    else if (a === 'full' || a === 'soak' || a.endsWith('.ts')) continue;
    else {
      const [k, v] = a.split('=');
      if (k === 'calls') plan = { ...plan, calls: Number(v) };
      else if (k === 'seconds') plan = { ...plan, seconds: Number(v) };
      else if (k === 'call') plan = { ...plan, callSeconds: Number(v) };
      else if (k === 'vad' && (v === 'silero' || v === 'energy')) plan = { ...plan, vad: v };
      else throw new Error(`unknown argument ${a}: short | calls=N seconds=S call=S vad=silero|energy`);
    }
  }
  return plan;
}

interface Sample {
  readonly t: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly fds: number;
  readonly sockets: number;
  readonly handles: number;
  readonly timers: number;
  readonly lagP99Ms: number;
  readonly calls: number;
  /** Gateway CPU since the previous sample, % of one core. */
  readonly cpuPct: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function descriptors(pid: number): { fds: number; sockets: number } {
  let fds = 0;
  let sockets = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      fds++;
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    // the process is gone
  }
  return { fds, sockets };
}

/** Least-squares slope of y over t (minutes). */
function slopePerMinute(samples: readonly Sample[], pick: (s: Sample) => number): number {
  const n = samples.length;
  if (n < 3) return Number.NaN;
  const xs = samples.map((s) => s.t / 60_000);
  const ys = samples.map(pick);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

export async function soak(plan: Plan, log: (line: string) => void = (l) => console.error(l)): Promise<BenchResult[]> {
  const machine = machineSnapshot();
  const cloud = await startCloudGateway({ calls: plan.calls, vad: plan.vad, record: true, timeoutMs: (plan.seconds + 600) * 1000 });
  try {
    const { gw } = cloud;
    // Enough calls to keep `calls` up for `seconds` (a new one as one ends), started at the rate calls end.
    const total = Math.ceil(plan.calls * (plan.seconds / plan.callSeconds));
    const rateTimes10 = Math.max(1, Math.round((plan.calls / plan.callSeconds) * 10));
    const t0 = performance.now();
    const sipp = await startSipp({
      scenario: { file: cloud.scenario },
      target: gw.target,
      calls: total,
      rate: rateTimes10,
      ratePeriodMs: 10_000,
      maxConcurrent: plan.calls,
      keys: { audio_ms: plan.callSeconds * 1000 },
      traceStat: { periodS: 10 },
      timeoutMs: (plan.seconds + plan.callSeconds * 2 + 120) * 1000,
      extraArgs: ['-rtp_threadtasks', '50'],
    });
    const samples: Sample[] = [];
    let cpuAt = gw.cpuTimeMs();
    let cpuT = performance.now();
    let sippDone = false;
    void sipp.done.then(() => (sippDone = true));
    while (!sippDone && gw.process.running) {
      await sleep(10_000);
      cloud.trimFakes();
      const m = await scrapeMetrics(cloud.httpPort).catch(() => new Map<string, number>());
      const d = descriptors(gw.pid);
      const cpuNow = gw.cpuTimeMs();
      const tNow = performance.now();
      const cpuPct = ((cpuNow - cpuAt) / (tNow - cpuT)) * 100;
      cpuAt = cpuNow;
      cpuT = tNow;
      const s: Sample = {
        cpuPct,
        t: performance.now() - t0,
        rssMb: gw.memory().rssKb / 1024,
        heapMb: metricSum(m, 'nodejs_heap_size_used_bytes') / 1_048_576,
        fds: d.fds,
        sockets: d.sockets,
        handles: metricSum(m, 'nodejs_active_handles_total'),
        timers: metricSum(m, 'nodejs_active_resources', 'type="Timeout"'),
        lagP99Ms: metricSum(m, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        calls: metricSum(m, 'callroom_calls_active'),
      };
      samples.push(s);
      log(
        `soak ${(s.t / 1000).toFixed(0)} s: calls ${s.calls}, rss ${s.rssMb.toFixed(1)} MB, heap ${s.heapMb.toFixed(1)} MB, fds ${s.fds} (sockets ${s.sockets}), handles ${s.handles}, timers ${s.timers}, lag p99 ${s.lagP99Ms.toFixed(1)} ms, cpu ${s.cpuPct.toFixed(0)}%`,
      );
    }
    const result = await sipp.done;
    const wallS = (performance.now() - t0) / 1000;
    const deadline = Date.now() + 15_000;
    while (gw.logsWith('call ended').length < (result.stats?.totalCalls ?? total) && Date.now() < deadline && gw.process.running) await sleep(200);
    const crashed = !gw.process.running;
    const records = crashed ? [] : await allCallRecords(cloud.httpPort);
    const ended = gw.logsWith('call ended');
    const notByCaller = ended.filter((l) => l['reason'] !== 'remote-hangup').length;
    const turns = gw.logsWith('turn').length;
    const exit = crashed ? await gw.process.exited : await gw.process.stop(60_000);

    // The warm-up: the first calls' length, and at least a fifth of the run.
    const warm = Math.max(plan.callSeconds * 1000, plan.seconds * 200);
    const steady = samples.filter((s) => s.t >= warm && s.t <= plan.seconds * 1000);
    const slope = (name: string, unit: string, pick: (s: Sample) => number, note = ''): BenchResult => ({
      name: `slope ${name}`,
      value: Math.round(slopePerMinute(steady, pick) * 1000) / 1000,
      unit: `${unit}/min`,
      note: `${steady.length} samples after ${warm / 1000} s${note === '' ? '' : `; ${note}`}`,
    });
    const first = steady[0];
    const last = steady.at(-1);
    const sippFailed = result.stats?.failedCalls ?? (result.exitCode === 0 ? 0 : total);
    const label = `${plan.calls} calls x ${plan.seconds} s`;
    return [
      { name: `${label}: calls placed`, value: result.stats?.totalCalls ?? total, unit: 'calls', note: `calls of ${plan.callSeconds} s, vad ${plan.vad}, every call recorded; ${machine}` },
      { name: 'dropped: SIPp failed', value: sippFailed, unit: 'calls', note: sippFailed > 0 ? describeSippResult(result).slice(0, 300) : 'caller side' },
      { name: 'dropped: ended by the gateway', value: notByCaller, unit: 'calls', note: `of ${ended.length} ended (the rest by the caller's BYE)` },
      { name: 'dropped: without a record', value: Math.max(0, ended.length - records.length), unit: 'calls', note: `${records.length} records, ${records.filter((r) => r.endReason === null).length} not ended` },
      { name: 'turns answered', value: turns, unit: 'turns' },
      { name: 'gateway exit', value: exit.exitCode ?? -1, unit: 'code', note: crashed ? 'CRASHED during the run' : 'SIGTERM after the run' },
      slope('RSS', 'MB', (s) => s.rssMb, `${first?.rssMb.toFixed(1)} -> ${last?.rssMb.toFixed(1)} MB`),
      slope('heap used', 'MB', (s) => s.heapMb, `${first?.heapMb.toFixed(1)} -> ${last?.heapMb.toFixed(1)} MB`),
      floorSlope(steady),
      slope('open fds', 'fds', (s) => s.fds, `${first?.fds} -> ${last?.fds}`),
      slope('sockets', 'sockets', (s) => s.sockets, `${first?.sockets} -> ${last?.sockets}`),
      slope('active handles', 'handles', (s) => s.handles, `${first?.handles} -> ${last?.handles}`),
      slope('timers', 'timers', (s) => s.timers, `${first?.timers} -> ${last?.timers}`),
      { name: 'gateway CPU (mean of samples)', value: Math.round(steady.reduce((a, s) => a + s.cpuPct, 0) / Math.max(1, steady.length)), unit: '% of a core', note: `${((steady.reduce((a, s) => a + s.cpuPct, 0) / Math.max(1, steady.length)) / plan.calls).toFixed(2)} % per call` },
      { name: 'event-loop lag p99 (max of samples)', value: Math.round(Math.max(0, ...steady.map((s) => s.lagP99Ms)) * 10) / 10, unit: 'ms' },
      { name: 'live calls (min..max of samples)', value: Math.min(...steady.map((s) => s.calls)), unit: 'calls', note: `max ${Math.max(...steady.map((s) => s.calls))}` },
      { name: 'wall time', value: Math.round(wallS), unit: 's' },
    ];
  } finally {
    await cloud.close();
  }
}

/**
 * The heap's floor: the lowest sample of each minute (what survives a collection), and its slope. The heap used
 * saws up and down with the collector; a leak shows as a floor that rises.
 */
function floorSlope(steady: readonly Sample[]): BenchResult {
  const byMinute = new Map<number, Sample>();
  for (const s of steady) {
    const m = Math.floor(s.t / 60_000);
    const cur = byMinute.get(m);
    if (cur === undefined || s.heapMb < cur.heapMb) byMinute.set(m, s);
  }
  const floors = [...byMinute.values()];
  return {
    name: 'slope heap floor (lowest per minute)',
    value: Math.round(slopePerMinute(floors, (s) => s.heapMb) * 1000) / 1000,
    unit: 'MB/min',
    note: floors.map((s) => s.heapMb.toFixed(0)).join(', ') + ' MB',
  };
}

export async function run(): Promise<BenchResult[]> {
  return soak(parsePlan(process.argv.slice(2)));
}

if (import.meta.main) {
  const started = performance.now();
  const results = await run();
  printResults(`soak.bench.ts (${((performance.now() - started) / 1000).toFixed(1)} s)`, results);
  process.exit(0);
}
