/**
 * Speech-to-speech calls through the gateway: real SIP and RTP (PCMU, passed straight through to and from
 * the model), the real OpenAI Realtime SDK over TLS, `RealtimeCallSession` per call.
 *
 * This process is the gateway under test (SIP user agent, RTP, call manager, sessions). A peer process runs
 * the fake OpenAI Realtime server and the callers' phones (SIP dialogs; RTP on bare UDP sockets, so arrivals
 * are timed as they happen), so the gateway's figures are its own. Every phone sends a 20 ms PCMU packet
 * every 20 ms, all the time; every model session answers as a realtime model does: 1.5 s of audio every 3 s,
 * the first 200 ms at once and the rest at twice real time, then `response.done` (the model talks half the
 * time). Audio carries send times in its first bytes, on a clock both processes share (time origin +
 * monotonic clock).
 *
 * Added latency, p50 / p99, each way:
 * - in, through Callroom: the leg hands the caller's packet to the call layer (after the jitter buffer) ->
 *   first byte at the model socket (bridge, adapter, SDK, TLS, loopback, the fake's parse);
 * - in, from the phone: the packet sent by the phone -> the model socket (adds the jitter buffer, 60 ms
 *   prefetch as configured by default, and the wait for the leg's 20 ms playout slot);
 * - out, through Callroom: the model sends the first delta of an answer -> its bytes handed to the leg
 *   (`writeEncoded`; later deltas of an answer wait their turn to be played, by design, and are not timed);
 * - out, to the phone: that first delta -> its RTP packet at the phone's socket (adds the wait for the call's
 *   next 20 ms send slot, which RTP pacing imposes whatever the gateway does: 0-20 ms).
 * Levels of concurrent calls rise until the p99 of either "through Callroom" figure passes 20 ms; reported
 * per level: those, the phone-to-phone figures, packets lost, CPU of the gateway and the peer, event-loop lag,
 * the machine's load and what else was running.
 *
 * First one call for 30 s (an answer of 200 ms every 300 ms: 100 first deltas), then the levels.
 * Run alone: `npx node bench/realtime-calls.bench.ts [levels=100,300,500,700]` (a few minutes; BENCH_PROGRESS=1
 * prints progress).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AgentRuntime } from '../src/call/agent-runtime.ts';
import { CallManager } from '../src/call/call-manager.ts';
import { agentSchema } from '../src/config/agent-schema.ts';
import { validateConfig } from '../src/config/load-config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Pacer } from '../src/media/rtp/pacer.ts';
import { PortAllocator } from '../src/media/rtp/port-allocator.ts';
import { openRtpIo } from '../src/media/rtp/rtp-io.ts';
import { DemoLlm } from '../src/providers/demo/demo-llm.ts';
import { OpenAiRealtime } from '../src/providers/openai-realtime/openai-realtime.ts';
import { ToolPolicy } from '../src/room/tool-policy.ts';
import { createSipUserAgent } from '../src/sip/user-agent/index.ts';
import { RtpMediaFactory } from '../src/transports/sip/rtp-media-factory.ts';
import { createSipCallHandler } from '../src/transports/sip/sip-call-handler.ts';
import { EnergyVad } from '../src/vad/energy-vad.ts';
import { GatewayProbe, MeasuredLeg } from '../test/support/realtime-call-measure.ts';
import { runPeer, type PeerReply, type PeerRequest, type PeerStats } from '../test/support/realtime-call-peer.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const PEER_FLAG = '--realtime-calls-peer';
const DEFAULT_LEVELS = [100, 200, 300, 400, 500, 600, 700, 800, 1000];
const MEASURE_MS = 8000;
/** The one-call latency run: short answers often, for enough samples of each answer's first delta. */
const LATENCY = { ms: 30_000, answerEveryMs: 300, answerMs: 200 } as const;
const LIMIT_P99_MS = 20;

const progress = (msg: string): void => {
  if (process.env['BENCH_PROGRESS'] !== undefined) process.stderr.write(`[realtime-calls] ${msg}\n`);
};
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Peer {
  readonly child: ChildProcess;
  #waiters: Array<(r: PeerReply) => void> = [];

  constructor() {
    this.child = spawn(process.execPath, [import.meta.filename, PEER_FLAG], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: PeerReply) => this.#waiters.shift()?.(m));
  }

  next(): Promise<PeerReply> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async ask(r: PeerRequest): Promise<PeerReply> {
    const reply = this.next();
    this.child.send(r);
    return reply;
  }
}

async function startGateway(peer: Extract<PeerReply, { type: 'ready' }>, probe: GatewayProbe) {
  const config = validateConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], codecs: ['PCMU'], trunks: [{ name: 'lo', cidrs: ['127.0.0.0/8'] }], ringing: false } });
  const pacer = new Pacer();
  // RTP I/O as the gateway opens it by default (`rtp.io: auto`: the batched addon when built, else node:dgram).
  const rtpIo = openRtpIo(config.rtp.io);
  progress(`rtp io ${rtpIo.kind}`);
  const media = new RtpMediaFactory({
    pacer,
    ports: new PortAllocator({ min: 22_000, max: 25_999 }),
    bindAddress: '127.0.0.1',
    advertiseAddress: '127.0.0.1',
    jitterMs: config.rtp.jitterBufferMs,
    io: rtpIo.io,
  });
  const ua = await createSipUserAgent({ config: config.sip, media, logger: silentLogger() });
  const spec = agentSchema.parse({ name: 'agent', realtime: { provider: 'openai', turnDetection: 'server_vad' } });
  const agent: AgentRuntime = {
    spec,
    llm: new DemoLlm(),
    stt: [],
    tts: [],
    tools: [],
    policy: ToolPolicy.permitAll(),
    realtime: new OpenAiRealtime({ apiKey: peer.apiKey, baseUrl: peer.baseUrl, ca: peer.ca, connectTimeoutMs: 30_000, logger: silentLogger() }),
  };
  const manager = new CallManager({ resolveAgent: async () => agent, vad: new EnergyVad(), logger: silentLogger(), maxConcurrentCalls: 5000, maxCallSeconds: 3600 });
  ua.onCall(createSipCallHandler({ startCall: (leg, origin) => manager.startCall(new MeasuredLeg(leg, probe), origin), logger: silentLogger() }));
  return {
    manager,
    rtpIo: rtpIo.kind,
    sipPort: ua.endpoints()[0]?.bound.port ?? 0,
    async close() {
      await manager.hangupAll();
      await ua.close();
      pacer.close();
      await rtpIo.close();
    },
  };
}

/** The busiest other processes right now (the machine is shared). */
function othersRunning(): string {
  try {
    const out = execFileSync('ps', ['-eo', 'pid,pcpu,args', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' });
    const mine = new Set([process.pid, process.ppid]);
    return out
      .split('\n')
      .map((l) => /^\s*(\d+)\s+([\d.]+)\s+(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && !mine.has(Number(m[1])) && Number(m[2]) >= 2)
      .slice(0, 5)
      .map((m) => `${m[2]}% ${short(m[3] ?? '')}`)
      .join(', ');
  } catch {
    return 'ps unavailable';
  }
}

/** A command line in a few words: the program and the script or test it runs. */
function short(args: string): string {
  const words = args.split(' ');
  const prog = (words[0] ?? '').split('/').pop() ?? '';
  const script = words.slice(1).find((w) => /\.(m?[jt]s|xml)$|^(serve|run|vitest)$/.test(w))?.split('/').slice(-2).join('/');
  return script === undefined ? prog : `${prog} ${script}`;
}

function figures(name: string, ms: readonly number[]): string {
  return `${name} p50 ${round(percentile(ms, 50))} / p90 ${round(percentile(ms, 90))} / p99 ${round(percentile(ms, 99))} / max ${round(percentile(ms, 100))} ms`;
}

export async function run(levels: readonly number[] = DEFAULT_LEVELS): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const peer = new Peer();
  const ready = await peer.next();
  if (ready.type !== 'ready') throw new Error('peer did not start');
  progress('peer ready');
  const probe = new GatewayProbe();
  const gw = await startGateway(ready, probe);
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  let held = 0;
  const cpuPerCall: number[] = [];
  try {
    for (const n of [1, ...levels]) {
      const single = n === 1;
      progress(`${n} calls: dialling`);
      const up = await peer.ask({ type: 'calls', total: n, sipPort: gw.sipPort });
      progress(`${n} calls: ${JSON.stringify(up)}`);
      if (up.type !== 'calls' || up.up < n) {
        results.push({ name: `${n} calls`, value: up.type === 'calls' ? up.up : 0, unit: 'calls up', note: `not all calls could be set up (${up.type === 'calls' ? up.failed : '?'} dials failed)` });
        break;
      }
      await sleep(2000);
      probe.reset();
      lag.reset();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      progress(`${n} calls: measuring`);
      const m = await peer.ask(single ? { type: 'measure', ...LATENCY } : { type: 'measure', ms: MEASURE_MS });
      progress(`${n} calls: measured`);
      const cpu = process.cpuUsage(cpu0);
      const elapsed = performance.now() - t0;
      if (m.type !== 'measured') throw new Error('peer did not measure');
      const s: PeerStats = m.stats;
      const inP99 = percentile(s.inCallroom, 99);
      const outP99 = percentile(probe.outMs, 99);
      const gwCpu = ((cpu.user + cpu.system) / 1000 / elapsed) * 100;
      const missing = (sent: number, got: number): string => `${Math.max(0, sent - got)} of ${sent}`;
      const lost = `in ${missing(s.phonePacketsSent, s.modelPacketsReceived)}, out ${missing(s.modelDeltasSent, s.phonePacketsReceived)} (in flight at the window's edges included)`;
      results.push({ name: `${n} calls: in through Callroom p99`, value: round(inP99), unit: 'ms', note: figures('in', s.inCallroom) + `; ${figures('phone->model', s.inFromPhone)}` });
      results.push({ name: `${n} calls: out through Callroom p99`, value: round(outP99), unit: 'ms', note: figures('out', probe.outMs) + `; ${figures('model->phone', s.outToPhone)}; ${s.answers} answers` });
      results.push({
        name: `${n} calls: gateway CPU`,
        value: round(gwCpu, 1),
        unit: '% of a core',
        note: `peer ${round((s.cpuMs / elapsed) * 100, 1)}%; loop lag p99 ${round(Math.max(0, lag.percentile(99) / 1e6 - 5), 1)} ms; packets not arrived ${lost}; load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; busiest: ${othersRunning()}`,
      });
      if (single) continue;
      cpuPerCall.push(gwCpu / n);
      if (inP99 > LIMIT_P99_MS || outP99 > LIMIT_P99_MS) break;
      held = n;
    }
  } finally {
    lag.disable();
    const exited = new Promise((r) => peer.child.once('exit', r));
    peer.child.send({ type: 'stop' } satisfies PeerRequest);
    await Promise.race([exited, sleep(10_000)]);
    peer.child.kill();
    await gw.close();
  }
  results.push({ name: 'concurrent calls held (p99 through Callroom <= 20 ms each way)', value: held, unit: 'calls', note: `rtp io ${gw.rtpIo}; levels ${levels.join(', ')}; see the load and what else ran` });
  // CPU time is counted whatever else runs: the cost per call says what one core holds without contention.
  if (cpuPerCall.length > 0) {
    const perCall = percentile(cpuPerCall, 50);
    results.push({ name: 'gateway CPU per call (median over levels)', value: round(perCall, 3), unit: '% of one core', note: 'caller audio 50 packets/s, model answers half the time' });
    results.push({ name: 'calls one core holds by CPU alone (at 80 %)', value: Math.floor(80 / perCall), unit: 'calls', note: 'an upper bound: the gateway runs JS on one thread; no latency limit applied' });
  }
  return results;
}

if (process.argv.includes(PEER_FLAG)) {
  // The bench gone (crashed, killed): nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  await runPeer(
    (reply) => process.send?.(reply),
    (fn) => process.on('message', (m: PeerRequest) => fn(m)),
  );
  process.exit(0);
} else if (import.meta.filename === process.argv[1]) {
  const arg = process.argv.find((a) => a.startsWith('levels='));
  const levels = arg === undefined ? DEFAULT_LEVELS : arg.slice('levels='.length).split(',').map(Number);
  printResults('realtime-calls.bench.ts', await run(levels));
  process.exit(0);
}
