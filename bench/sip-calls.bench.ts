/**
 * SIP call benchmarks against the real gateway process (`callroom serve`, echo mode) with SIPp on loopback,
 * counting what a caller experiences, not only what SIPp reports.
 *
 * 1. Call set-up rate: SIPp short calls with SDP (test/sip-scenarios/uac-load.xml: INVITE, 200, ACK, 1 s, BYE)
 *    at 100, 200, 500 and 1,000 calls/s for 10 s, then 500 calls/s for 40 s (longer than finished transactions
 *    stay in the table), a fresh gateway per run. A call fails when SIPp says so, or when the gateway says it
 *    did not go through: its ACK never arrived ("call failed"), or it ended other than by the caller's BYE.
 *    SIPp alone counts a call good whose ACK the gateway never got, because SIPp sent it.
 *    Reported: failures (SIPp, gateway, caller-experienced = their sum, an upper bound when both saw the same
 *    call fail), INVITE->200 p50/p99 (SIPp -trace_rtt, 1 ms resolution), retransmissions, the kernel's UDP
 *    RcvbufErrors over the run (datagrams dropped on full socket buffers, machine-wide), CPU and RSS.
 * 2. Concurrent calls with audio both ways: 200, 500 and 1,000 calls, each streaming 16 s of 20 ms PCMU from
 *    SIPp's RTP streamer (uac-rtpstream-audio.xml) that the gateway echoes. Every frame carries its number
 *    (bench/sip-load-harness.ts), and everything the gateway sends is captured (64 octets per packet), so each
 *    call's echoed share is the caller's frames that came back. A call that got less than 99% of its audio
 *    back, or that SIPp failed, is a failed call. Pacing as the caller sees it: gaps between packets of one
 *    stream (20 ms nominal), p50/p99, and p99 of |gap - 20 ms|. The gateway's event-loop lag p99 (prom-client,
 *    over the window in which every call is live), CPU of the gateway, SIPp, dumpcap and the whole machine,
 *    and RcvbufErrors. 200 calls are repeated with one pcap playback per call (uac-pcap-audio.xml) as a check
 *    of the generator.
 *
 * Needs root (dumpcap, SIPp's play_pcap_audio), sipp and tshark. The machine is shared: each run says what
 * else was running.
 * `npm run bench sip-calls` runs everything once (about 5 minutes). Directly, parts and repeats:
 *   npx node bench/sip-calls.bench.ts setup=500x40 concurrent=500 runs=3
 * (`setup=RATE[xSECONDS]`, `concurrent=N`, `pcap=N`, `runs=K`: each part K times, medians reported;
 * `prof=DIR`: the gateway writes a V8 CPU profile there, see bench/cpu-profile-summary.ts).
 */
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuTimeMs, startGatewayProcess, type GatewayProcess } from '../test/support/gateway-process.ts';
import { taggedFrames } from '../test/support/sip-peers/frame-tags.ts';
import { allocatePortBlock, allocatePorts, releasePorts } from '../test/support/sip-peers/free-ports.ts';
import { writeRtpPcap } from '../test/support/sip-peers/rtp-pcap.ts';
import { SCENARIO_DIR, scenarioFile } from '../test/support/sip-peers/scenarios.ts';
import { describeSippResult, sippPassed, startSipp } from '../test/support/sip-peers/sipp.ts';
import { speechLikeSignal } from '../test/support/sip-peers/test-signal.ts';
import { startCapture } from '../test/support/sip-peers/tshark.ts';
import {
  echoedStreams,
  histogramQuantile,
  machineSnapshot,
  machineTicks,
  metricSum,
  processUdpDrops,
  scrapeMetrics,
  udpCounters,
  udpDelta,
  type MetricSamples,
} from './sip-load-harness.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const SETUP_RATES = [100, 200, 500, 1000] as const;
const SETUP_SECONDS = 10;
/**
 * One longer run: finished INVITE server transactions stay 64*T1 = 32 s (RFC 6026 Timer L) and BYE ones as
 * long (Timer J over UDP): a 10 s run never reaches the table size a sustained one does.
 */
const SUSTAINED = { rate: 500, seconds: 40 } as const;
const SETUP_CALL_MS = 1000;
const CONCURRENCY = [200, 500, 1000] as const;
/** Concurrency of the play_pcap_audio cross-check (SIPp's pcap threads saturate 2 cores near 700 calls). */
const PCAP_CROSS_CHECK = 200;
const AUDIO_SECONDS = 16;
/** Calls set up per second while ramping to a concurrency level. */
const RAMP_RATE = 200;
/** 2 ports per call; round-robin allocation needs room beyond the busiest level. */
const RTP_RANGE = { portMin: 20_000, portMax: 29_999 } as const;
/** A call that got less of its audio back than this failed, whatever SIPp says. */
const ECHO_OK = 0.99;

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Gw {
  readonly gw: GatewayProcess;
  readonly httpPort: number;
  release(): void;
}

/** `prof=DIR` on the command line: the gateway runs with --cpu-prof and writes its profile there on exit. */
let profileDir: string | undefined;
/**
 * `prio=N` on the command line: the gateway, SIPp and dumpcap run at nice N (negative: ahead of everything else
 * on the machine, root only). On a machine shared with other work this measures the gateway and SIPp sharing the
 * cores between themselves, which is the case the figures are about; every run says which it was.
 */
let niceness: number | undefined;

/** Run the gateway, SIPp, dumpcap and this process at nice `n` (see `prio=`). */
export function setNiceness(n: number): void {
  niceness = n;
  prioritise(process.pid);
}

/** Renice every thread of `pid` (Linux applies niceness per thread: the GC and I/O helpers too). */
export function prioritise(pid: number): void {
  if (niceness === undefined) return;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    tids = [String(pid)];
  }
  for (const tid of tids) {
    try {
      setPriority(Number(tid), niceness);
    } catch (err) {
      console.error(`cannot renice ${tid} to ${niceness}: ${(err as Error).message}`);
    }
  }
}

/** What a concurrent run varies on the gateway: the RTP socket I/O (config `rtp.io`; its default when absent). */
export interface GatewayVariant {
  readonly io?: 'auto' | 'native' | 'dgram';
}

async function startGateway(variant: GatewayVariant = {}): Promise<Gw> {
  const [httpPort] = (await allocatePorts(1)) as [number];
  // The gateway inherits this process's environment (gateway-process.ts), NODE_OPTIONS included.
  const saved = process.env.NODE_OPTIONS;
  if (profileDir !== undefined) process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${profileDir}`;
  try {
    const gw = await startGatewayProcess({
      transports: ['udp'],
      rtp: RTP_RANGE,
      timeoutMs: 600_000,
      config: {
        http: { enabled: true, host: '127.0.0.1', port: httpPort },
        ...(variant.io === undefined ? {} : { rtp: { host: '127.0.0.1', ...RTP_RANGE, io: variant.io } }),
      },
    });
    prioritise(gw.pid);
    return { gw, httpPort, release: () => releasePorts([httpPort]) };
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

async function scrape(g: Gw): Promise<MetricSamples> {
  try {
    return await scrapeMetrics(g.httpPort);
  } catch {
    return new Map();
  }
}

/** Wait until the gateway has logged `msg` `count` times or `timeoutMs` passed; returns the count. */
async function waitForCount(gw: GatewayProcess, msg: string, count: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = gw.logsWith(msg).length;
  while (n < count && Date.now() < deadline) {
    await sleep(200);
    n = gw.logsWith(msg).length;
  }
  return n;
}

/** Calls the gateway says did not go through: no ACK ("call failed"), or ended other than by the caller's BYE. */
function gatewayFailures(gw: GatewayProcess): { failed: number; reasons: Record<string, number> } {
  const bad = new Set<string>();
  const reasons: Record<string, number> = {};
  for (const l of gw.logsWith('call failed')) {
    bad.add(String(l.callId));
    reasons[`failed: ${String(l.err)}`] = (reasons[`failed: ${String(l.err)}`] ?? 0) + 1;
  }
  for (const l of gw.logsWith('sip call ended')) {
    if (l.reason === 'remote-bye') continue;
    bad.add(String(l.callId));
    const k = `ended: ${String(l.reason)}`;
    reasons[k] = (reasons[k] ?? 0) + 1;
  }
  return { failed: bad.size, reasons };
}

/** One measurement: named figures (numbers) plus notes. */
type Figures = Record<string, number>;
export interface RunOutcome {
  readonly figures: Figures;
  readonly notes: Record<string, string>;
}

async function setupRun(rate: number, seconds: number): Promise<RunOutcome> {
  const machine = machineSnapshot();
  const g = await startGateway();
  const { gw } = g;
  const calls = rate * seconds;
  const cpu0 = gw.cpuTimeMs();
  const m0 = machineTicks();
  const udp0 = udpCounters();
  const t0 = performance.now();
  try {
    const peer = await startSipp({
      scenario: scenarioFile('uac-load'),
      target: gw.target,
      calls,
      rate,
      ratePeriodMs: 1000,
      maxConcurrent: rate * 5,
      pauseMs: SETUP_CALL_MS,
      traceStat: { periodS: 1 },
      traceRtt: { freq: 100 },
      timeoutMs: (seconds + 60) * 1000,
    });
    prioritise(peer.process.pid);
    const r = await peer.done;
    const wallMs = performance.now() - t0;
    // Calls end with SIPp's BYE; a call without its ACK ends after 64*T1: wait for the stragglers' verdicts.
    await waitForCount(gw, 'sip call ended', gw.logsWith('incoming call').length, 40_000);
    const udp = udpDelta(udp0, udpCounters());
    const cpuPct = ((gw.cpuTimeMs() - cpu0) / wallMs) * 100;
    const m1 = machineTicks();
    const machinePct = (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
    const metrics = await scrape(g);
    const mem = gw.memory();
    const drops = processUdpDrops(gw.pid);
    const ok = r.stats?.successfulCalls ?? 0;
    const sippFailed = sippPassed(r) ? (r.stats?.failedCalls ?? 0) : Math.max(1, calls - ok);
    if (!sippPassed(r)) console.error(`set-up ${rate}/s: SIPp did not pass; first error:\n${(r.errors.split('\n').find((l) => /Aborting|Unexpected|error/i.test(l)) ?? describeSippResult(r)).slice(0, 1500)}`);
    const gwf = gatewayFailures(gw);
    const rtts = (r.rtt ?? []).filter((x) => x.rtd === 1).map((x) => x.responseTimeMs);
    return {
      figures: {
        'failed calls (caller-experienced)': sippFailed + gwf.failed,
        'failed calls (SIPp)': sippFailed,
        'failed calls (gateway: no ACK, abnormal end)': gwf.failed,
        'INVITE->200 p50': percentile(rtts, 50),
        'INVITE->200 p99': percentile(rtts, 99),
        'SIPp retransmissions': r.stats?.retransmissions ?? 0,
        'gateway calls ended other than by BYE (metrics)':
          metricSum(metrics, 'callroom_sip_calls_ended_total') - metricSum(metrics, 'callroom_sip_calls_ended_total', 'reason="remote-bye"'),
        'UdpRcvbufErrors (machine)': udp.rcvbufErrors,
        'gateway socket drops': drops.drops,
        'gateway CPU': cpuPct,
        'whole machine busy': machinePct,
        'gateway peak RSS': mem.hwmKb / 1024,
      },
      notes: {
        calls: `${ok}/${calls} ok by SIPp; ${rtts.length} RTT samples`,
        reasons: JSON.stringify(gwf.reasons),
        machine: `${machine}${niceness === undefined ? '' : `; gateway, SIPp and dumpcap at nice ${niceness}`}`,
      },
    };
  } finally {
    await gw.stop().catch(() => {});
    g.release();
  }
}

export interface AudioMedia {
  /** uac-rtpstream-audio.xml with the raw mu-law file's path filled in. */
  readonly rtpStreamScenario: string;
  /** The same audio as a 20 ms PCMU pcap, for play_pcap_audio. */
  readonly pcap: string;
  readonly frames: number;
  readonly audioMs: number;
}

/** Tagged audio of `seconds` (default 16) for every caller, as a raw file for rtp_stream and as a pcap. */
export async function writeAudio(dir: string, seconds: number = AUDIO_SECONDS): Promise<AudioMedia> {
  const frames = seconds * 50;
  const samples = speechLikeSignal({ sampleRate: 8000, seconds, seed: 3 });
  const payloads = taggedFrames(samples, 0, frames);
  const ulaw = join(dir, 'audio.ulaw');
  await writeFile(ulaw, Buffer.concat(payloads));
  const pcap = join(dir, 'audio-pcmu.pcap');
  const info = await writeRtpPcap({ payloads, ssrc: 0x0bec4a11 }, pcap);
  // SIPp does not expand -key values in rtp_stream: the path goes into a copy of the scenario.
  const template = await readFile(`${SCENARIO_DIR}uac-rtpstream-audio.xml`, 'utf8');
  const rtpStreamScenario = join(dir, 'uac-rtpstream-audio.xml');
  await writeFile(rtpStreamScenario, template.replace('rtp_stream="@AUDIO_FILE@,', `rtp_stream="${ulaw},`));
  return { rtpStreamScenario, pcap, frames, audioMs: Math.ceil(info.durationMs + 500) };
}

type AudioSource = 'rtp_stream' | 'pcap';

/** `n` concurrent echo calls with audio both ways against a fresh gateway: what the callers experienced. */
export async function concurrentRun(n: number, media: AudioMedia, source: AudioSource, variant: GatewayVariant = {}): Promise<RunOutcome> {
  const machine = machineSnapshot();
  const g = await startGateway(variant);
  const { gw } = g;
  // SIPp's own media port block: the capture keeps only what the gateway sends to it (other gateways may run).
  const mediaPort = await allocatePortBlock(4);
  const capture = await startCapture({
    filter: `udp src portrange ${RTP_RANGE.portMin}-${RTP_RANGE.portMax} and udp dst port ${mediaPort}`,
    snapLength: 64,
    timeoutMs: 300_000,
  });
  prioritise(capture.pid);
  const rampMs = (n / RAMP_RATE) * 1000;
  const udp0 = udpCounters();
  const sippStarted = performance.now();
  const sipp = await startSipp({
    scenario: { file: source === 'pcap' ? `${SCENARIO_DIR}uac-pcap-audio.xml` : media.rtpStreamScenario },
    target: gw.target,
    mediaPort,
    calls: n,
    rate: RAMP_RATE,
    ratePeriodMs: 1000,
    maxConcurrent: n,
    keys: source === 'pcap' ? { pcap_audio: media.pcap, audio_ms: media.audioMs } : { audio_ms: media.audioMs },
    traceStat: { periodS: 1 },
    timeoutMs: rampMs + media.audioMs + 60_000,
  });
  prioritise(sipp.process.pid);
  try {
    const up = await waitForCount(gw, 'incoming call', n, rampMs + 15_000);
    if (!sipp.process.running) throw new Error(`SIPp exited during the ramp\n${describeSippResult(await sipp.done).slice(0, 3000)}`);
    // The window in which every call carries audio: from now until shortly before the first calls end.
    const atStart = await scrape(g); // (prom-client resets its event-loop histogram on each scrape)
    const started = performance.now();
    const cpu0 = gw.cpuTimeMs();
    const sippCpu0 = processCpuTimeMs(sipp.process.pid);
    const capCpu0 = processCpuTimeMs(capture.pid);
    const m0 = machineTicks();
    const windowMs = Math.max(2000, media.audioMs - (started - sippStarted) - 2000);
    await sleep(windowMs);
    const wallMs = performance.now() - started;
    const inWindow = await scrape(g);
    const cpuPct = ((gw.cpuTimeMs() - cpu0) / wallMs) * 100;
    const sippPct = ((processCpuTimeMs(sipp.process.pid) - sippCpu0) / wallMs) * 100;
    const capPct = ((processCpuTimeMs(capture.pid) - capCpu0) / wallMs) * 100;
    const m1 = machineTicks();
    const machinePct = (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
    const mem = gw.memory();
    const drops = processUdpDrops(gw.pid);
    const r = await sipp.done;
    await waitForCount(gw, 'echo call ended', n, 15_000);
    const udp = udpDelta(udp0, udpCounters());
    const after = await scrape(g);
    const file = await capture.stop();
    const streams = echoedStreams(new Uint8Array(await readFile(file)), RTP_RANGE.portMin, RTP_RANGE.portMax, mediaPort);

    const sippFailed = r.stats?.failedCalls ?? n - (r.stats?.successfulCalls ?? 0);
    if (!sippPassed(r)) console.error(`${n} concurrent (${source}): SIPp did not pass\n${describeSippResult(r).slice(0, 2000)}`);
    // Calls the gateway answered that sent nothing back are missing from the capture: they count as 0%.
    const ratios = streams.map((s) => s.frames / media.frames);
    while (ratios.length < n) ratios.push(0);
    const shortCalls = ratios.filter((x) => x < ECHO_OK).length;
    const frames = streams.reduce((a, s) => a + s.frames, 0);
    const gaps: number[] = [];
    for (const s of streams) for (const x of s.gapsMs) gaps.push(x);
    const dev = gaps.map((x) => Math.abs(x - 20));
    return {
      figures: {
        'calls up at once': up,
        'echoed (all calls)': (100 * frames) / (n * media.frames),
        'echoed, worst call': 100 * Math.min(...ratios),
        'failed calls (caller-experienced)': Math.max(shortCalls, 0) + sippFailed,
        'failed calls (< 99% echoed)': shortCalls,
        'failed calls (SIPp)': sippFailed,
        'caller gap p50': percentile(gaps, 50),
        'caller gap p99': percentile(gaps, 99),
        'caller gap max': gaps.reduce((a, b) => Math.max(a, b), 0),
        'pacing |gap-20ms| p50': percentile(dev, 50),
        'pacing |gap-20ms| p99': percentile(dev, 99),
        'event-loop lag p99': metricSum(inWindow, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        'pacer wake-up lateness p99 (bucket bound)': histogramQuantile(atStart, inWindow, 'callroom_rtp_pacer_lateness_seconds', 0.99) * 1000,
        'gateway CPU': cpuPct,
        'SIPp CPU': sippPct,
        'dumpcap CPU': capPct,
        'whole machine busy': machinePct,
        'UdpRcvbufErrors (machine)': udp.rcvbufErrors,
        'gateway socket drops': drops.drops,
        'gateway RSS': mem.rssKb / 1024,
        'gateway RTP in': metricSum(after, 'callroom_rtp_packets_received_total'),
        'gateway RTP lost (inbound)': metricSum(after, 'callroom_rtp_packets_lost_total'),
        'gateway RTP out': metricSum(after, 'callroom_rtp_packets_sent_total'),
        'gateway RTP concealed': metricSum(after, 'callroom_rtp_packets_concealed_total'),
        'gateway RTP late+dropped': metricSum(after, 'callroom_rtp_packets_late_total') + metricSum(after, 'callroom_rtp_packets_dropped_total'),
        'gateway pacer skipped slots': metricSum(after, 'callroom_rtp_pacer_skipped_slots_total'),
        'gateway stream resyncs + jitter resets': metricSum(after, 'callroom_rtp_stream_resyncs_total') + metricSum(after, 'callroom_rtp_jitter_buffer_resets_total'),
      },
      notes: {
        calls: `SIPp ${r.stats?.successfulCalls ?? 0} ok, ${sippFailed} failed; ${streams.length} streams captured, ${media.frames} frames per call; window ${round(wallMs / 1000, 1)} s; gateway drops over ${drops.sockets} sockets at the end of the window; machine RcvbufErrors include SIPp's RTP streamer, which never reads the echo`,
        machine: `${machine}${niceness === undefined ? '' : `; gateway, SIPp and dumpcap at nice ${niceness}`}`,
        io: String(gw.logsWith('rtp io')[0]?.io ?? 'unknown'),
      },
    };
  } finally {
    await sipp.stop();
    await capture.dispose();
    if (gw.process.running) await gw.stop().catch(() => {});
    g.release();
    releasePorts([mediaPort, mediaPort + 1, mediaPort + 2, mediaPort + 3]);
  }
}

const UNITS: Record<string, string> = {
  'INVITE->200 p50': 'ms',
  'INVITE->200 p99': 'ms',
  'gateway CPU': '% of one core',
  'SIPp CPU': '% of one core',
  'dumpcap CPU': '% of one core',
  'whole machine busy': '% of 2 cores',
  'gateway peak RSS': 'MB',
  'gateway RSS': 'MB',
  'echoed (all calls)': '%',
  'echoed, worst call': '%',
  'caller gap p50': 'ms',
  'caller gap p99': 'ms',
  'caller gap max': 'ms',
  'pacing |gap-20ms| p50': 'ms',
  'pacing |gap-20ms| p99': 'ms',
  'event-loop lag p99': 'ms',
  'pacer wake-up lateness p99 (bucket bound)': 'ms',
  'calls up at once': 'calls',
};

/** Run `once` `runs` times and report each figure's median, with every run's value in the note. */
export async function repeated(label: string, runs: number, once: () => Promise<RunOutcome>): Promise<BenchResult[]> {
  const outcomes: RunOutcome[] = [];
  for (let i = 0; i < runs; i++) {
    const o = await once();
    outcomes.push(o);
    console.error(`${label} run ${i + 1}/${runs}: ${JSON.stringify(Object.fromEntries(Object.entries(o.figures).map(([k, v]) => [k, round(v, 3)])))} ${JSON.stringify(o.notes)}`);
  }
  const names = Object.keys(outcomes[0]?.figures ?? {});
  const results: BenchResult[] = names.map((name) => {
    const values = outcomes.map((o) => o.figures[name] as number);
    const med = percentile(values, 50);
    return {
      name: `${label} ${name}${runs > 1 ? ' (median)' : ''}`,
      value: round(med, 3),
      unit: UNITS[name] ?? (name.includes('calls') ? 'calls' : name.includes('RTP') || name.includes('slots') ? 'packets' : name.includes('Errors') || name.includes('retrans') || name.includes('drops') ? 'datagrams' : ''),
      ...(runs > 1 ? { note: `runs: ${values.map((v) => round(v, 2)).join(', ')}` } : {}),
    };
  });
  for (const [k, v] of Object.entries(outcomes[0]?.notes ?? {})) results.push({ name: `${label} ${k}`, value: Number.NaN, unit: '', note: outcomes.map((o) => o.notes[k]).join(' | ') });
  return results;
}

interface Plan {
  readonly setups: ReadonlyArray<{ rate: number; seconds: number }>;
  readonly concurrent: readonly number[];
  readonly pcap: readonly number[];
  readonly runs: number;
}

const FULL: Plan = {
  setups: [...SETUP_RATES.map((rate) => ({ rate, seconds: SETUP_SECONDS })), SUSTAINED],
  concurrent: CONCURRENCY,
  pcap: [PCAP_CROSS_CHECK],
  runs: 1,
};

function parsePlan(args: readonly string[]): Plan {
  if (args.length === 0) return FULL;
  const setups: Array<{ rate: number; seconds: number }> = [];
  const concurrent: number[] = [];
  const pcap: number[] = [];
  let runs = 1;
  for (const a of args) {
    const [k, v = ''] = a.split('=');
    if (k === 'setup') {
      const [rate, seconds] = v.split('x').map(Number);
      setups.push({ rate: rate as number, seconds: seconds ?? SETUP_SECONDS });
    } else if (k === 'concurrent') concurrent.push(Number(v));
    else if (k === 'pcap') pcap.push(Number(v));
    else if (k === 'runs') runs = Number(v);
    else if (k === 'prof') profileDir = v;
    else if (k === 'prio') {
      niceness = Number(v);
      // This process reads the gateway's log from a pipe: if it falls behind, the gateway blocks writing its log.
      prioritise(process.pid);
    }
    else throw new Error(`unknown argument ${a}: setup=RATE[xSECONDS] concurrent=N pcap=N runs=K prof=DIR prio=NICE`);
  }
  return { setups, concurrent, pcap, runs };
}

export async function run(plan: Plan = FULL): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const s of plan.setups) results.push(...(await repeated(`set-up ${s.rate}/s x ${s.seconds} s:`, plan.runs, () => setupRun(s.rate, s.seconds))));
  if (plan.concurrent.length + plan.pcap.length === 0) return results;
  const dir = await mkdtemp(join(tmpdir(), 'callroom-bench-sip-'));
  try {
    const media = await writeAudio(dir);
    for (const n of plan.concurrent) results.push(...(await repeated(`${n} calls:`, plan.runs, () => concurrentRun(n, media, 'rtp_stream'))));
    for (const n of plan.pcap) results.push(...(await repeated(`${n} calls (pcap):`, plan.runs, () => concurrentRun(n, media, 'pcap'))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.main) {
  printResults('sip-calls', await run(parsePlan(process.argv.slice(2))));
}
