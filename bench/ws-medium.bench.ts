/**
 * The WebSocket medium's cost, over real sockets on 127.0.0.1.
 *
 * 1. Added latency through the medium, each way, one call, 16 kHz, 20 ms frames for 10 s, in one process
 *    (one clock):
 *    - in: the client's `ws.send` of a frame -> the frame at the session's `onFrame`;
 *    - out: the session's `sendFrame` (a real-time producer, as echo or streaming TTS) -> the bytes at the
 *      client's 'message' event. Frames carry a sequence number in their first samples.
 *    p50 and p99 of each.
 * 2. Concurrent calls one gateway process holds: the server (HTTP + WebSocket medium, echo session on every
 *    call) runs in a child process; this process runs the clients, each sending 20 ms frames in real time
 *    in speech-like spurts (2 s of 20 ms frames, 300 ms pause), and timing the echo of each (client send ->
 *    echoed frame back: both directions through the medium).
 *    Levels rise until the p95 of that round trip passes 50 ms. Reported per level: p50/p95/p99, frames
 *    lost, and the CPU of the server process, of this (client) process and of the whole machine: on a shared
 *    2-core machine the clients and whatever else runs compete for the same cores, so the figure is a floor
 *    for what a gateway alone holds. The server's CPU per call is reported too, as a contention-free bound.
 *
 * Reading the figures: pacing holds at most `outboundLeadMs` ahead of real time, so when a stall (this
 * machine busy with other work) makes frames arrive in a burst, the part beyond the lead waits at the
 * server and an echo stays that much later until the next pause: on a loaded machine the round trip
 * measures the stalls as much as the medium. The "machine busy" note says how loaded it was.
 *
 * Run alone: `npx node bench/ws-medium.bench.ts` (about 2 minutes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import type { AudioFrame } from '../src/core/audio-frame.ts';
import type { CallLeg } from '../src/call/call-leg.ts';
import { runEcho } from '../src/call/echo.ts';
import { JoinTokens } from '../src/core/join-token.ts';
import { silentLogger } from '../src/core/logger.ts';
import { processCpuTimeMs } from '../test/support/gateway-process.ts';
import { startWsHarness } from '../test/support/ws-harness.ts';
import { percentile, printResults, type BenchResult } from './types.ts';

const SERVE_FLAG = '--ws-medium-server';
const RATE = 16000;
const FRAME = RATE / 50;
const MAGIC = 12345;
const LEVELS = [25, 50, 100, 150, 200, 300, 400, 600, 800, 1000] as const;
const LIMIT_P95_MS = 50;
const WARMUP_MS = 1500;
const MEASURE_MS = 8000;
const TALK_FRAMES = 100;
const PAUSE_FRAMES = 15;

const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A 20 ms frame whose first two samples say which one it is. */
function markedFrame(seq: number): Int16Array {
  const s = new Int16Array(FRAME);
  for (let i = 2; i < FRAME; i++) s[i] = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  s[0] = MAGIC;
  s[1] = seq & 0x7fff;
  return s;
}

function seqOf(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 4) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, 4);
  return v.getInt16(0, true) === MAGIC ? v.getInt16(2, true) : undefined;
}

/** Run `fn` every 20 ms on an absolute schedule until `ms` has passed. */
async function every20ms(ms: number, fn: (tick: number) => void): Promise<void> {
  const start = performance.now();
  for (let tick = 0; tick * 20 < ms; tick++) {
    const due = start + tick * 20;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    fn(tick);
  }
}

async function oneWayLatency(): Promise<BenchResult[]> {
  const inbound = new Map<number, number>();
  const inLatency: number[] = [];
  const outSent = new Map<number, number>();
  const outLatency: number[] = [];
  let resolveLeg!: (leg: CallLeg) => void;
  const legReady = new Promise<CallLeg>((r) => (resolveLeg = r));
  const h = await startWsHarness({
    joinCall: async (_id, leg) => {
      leg.onFrame((f: AudioFrame) => {
        const at = performance.now();
        const seq = seqOf(new Uint8Array(f.samples.buffer, f.samples.byteOffset, 4));
        const sent = seq === undefined ? undefined : inbound.get(seq);
        if (sent !== undefined) inLatency.push(at - sent);
      });
      await leg.answer();
      resolveLeg(leg);
      await leg.ended;
    },
  });
  const ws = new WebSocket(h.joinUrl('latency'), { perMessageDeflate: false });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    const at = performance.now();
    const seq = seqOf(data);
    const sent = seq === undefined ? undefined : outSent.get(seq);
    if (sent !== undefined) outLatency.push(at - sent);
  });
  await new Promise((r) => ws.once('open', r));
  const leg = await legReady;
  await sleep(200);
  // Both directions at once, each a real-time 20 ms stream, for 10 s (500 frames each way).
  await every20ms(10_000, (tick) => {
    const frame = markedFrame(tick);
    inbound.set(tick, performance.now());
    ws.send(Buffer.from(frame.buffer), { binary: true });
    const out = markedFrame(tick);
    outSent.set(tick, performance.now());
    leg.sendFrame({ samples: out, sampleRate: RATE, timestamp: tick * 20 });
  });
  await sleep(300);
  ws.close();
  await h.close();
  return [
    { name: 'in: client send -> onFrame p50', value: round(percentile(inLatency, 50), 3), unit: 'ms', note: `${inLatency.length} frames of 500` },
    { name: 'in: client send -> onFrame p99', value: round(percentile(inLatency, 99), 3), unit: 'ms' },
    { name: 'out: sendFrame -> client socket p50', value: round(percentile(outLatency, 50), 3), unit: 'ms', note: `${outLatency.length} frames of 500` },
    { name: 'out: sendFrame -> client socket p99', value: round(percentile(outLatency, 99), 3), unit: 'ms' },
  ];
}

/** The server side of part 2: a gateway HTTP server with the WebSocket medium and echo on every call. */
async function serve(): Promise<void> {
  const secret = randomBytes(32);
  const h = await startWsHarness({
    secret,
    joinCall: (_id, leg) => runEcho(leg, silentLogger()),
    settings: { pingIntervalMs: 60_000 },
  });
  process.stdout.write(`READY ${h.port} ${secret.toString('hex')}\n`);
  const stop = async (): Promise<void> => {
    await h.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.resume();
}

interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly tokens: JoinTokens;
}

async function startServer(): Promise<ServerProcess> {
  const child = spawn(process.execPath, [import.meta.filename, SERVE_FLAG], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 30_000);
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const [, port, secretHex] = ready.split(' ') as [string, string, string];
  const tokens = new JoinTokens({ secret: Buffer.from(secretHex, 'hex'), ttlSeconds: 3600, store: { consume: async () => true } });
  return { child, port: Number(port), tokens };
}

interface Call {
  readonly ws: WebSocket;
  readonly sentAt: Float64Array;
  received: number;
}

async function openCalls(server: ServerProcess, n: number, onEcho: (call: Call, seq: number, at: number) => void): Promise<Call[]> {
  const calls: Call[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) => {
      const token = server.tokens.issue(`bench-${i + k}-${Math.random().toString(36).slice(2)}`).token;
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws/join?token=${token}`, { perMessageDeflate: false });
      const call: Call = { ws, sentAt: new Float64Array(32768), received: 0 };
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return;
        const seq = seqOf(data);
        if (seq !== undefined) onEcho(call, seq, performance.now());
      });
      return new Promise<Call>((resolve, reject) => {
        ws.once('message', () => resolve(call));
        ws.once('error', reject);
      });
    });
    calls.push(...(await Promise.all(batch)));
  }
  return calls;
}

/** Busy and total jiffies of the whole machine (/proc/stat), to tell how much else was running. */
function machineTicks(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

interface LevelResult {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly lost: number;
  readonly serverCpu: number;
  readonly clientCpu: number;
  /** Whole machine, % of all cores busy (others' work included). */
  readonly machine: number;
  readonly samples: number;
}

async function level(server: ServerProcess, n: number): Promise<LevelResult> {
  let measuring = false;
  const latencies: number[] = [];
  const calls = await openCalls(server, n, (call, seq, at) => {
    call.received++;
    if (measuring) latencies.push(at - (call.sentAt[seq] as number));
  });
  let sent = 0;
  let receivedAtStart = 0;
  const sending = every20ms(WARMUP_MS + MEASURE_MS, (tick) => {
    if (tick * 20 === WARMUP_MS) {
      measuring = true;
      receivedAtStart = calls.reduce((a, c) => a + c.received, 0);
      sent = 0;
    }
    // Speech-like talk spurts: 2 s of frames, then 300 ms of nothing (a pause lets any backlog drain).
    if (tick % (TALK_FRAMES + PAUSE_FRAMES) >= TALK_FRAMES) return;
    const frame = Buffer.from(markedFrame(tick).buffer);
    for (const call of calls) {
      call.sentAt[tick & 0x7fff] = performance.now();
      call.ws.send(frame, { binary: true });
    }
    if (measuring) sent += calls.length;
  });
  await sleep(WARMUP_MS);
  const cpu0 = processCpuTimeMs(server.child.pid as number);
  const own0 = process.cpuUsage();
  const m0 = machineTicks();
  const t0 = performance.now();
  await sending;
  await sleep(200);
  const wall = performance.now() - t0;
  const serverCpu = ((processCpuTimeMs(server.child.pid as number) - cpu0) / wall) * 100;
  const own = process.cpuUsage(own0);
  const clientCpu = ((own.user + own.system) / 1000 / wall) * 100;
  const m1 = machineTicks();
  const machine = (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
  measuring = false;
  const received = calls.reduce((a, c) => a + c.received, 0) - receivedAtStart;
  await Promise.all(
    calls.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once('close', () => resolve());
          c.ws.close();
        }),
    ),
  );
  await sleep(300);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    lost: Math.max(0, sent - received),
    serverCpu,
    clientCpu,
    machine,
    samples: latencies.length,
  };
}

async function capacity(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const cpuPerCall: number[] = [];
  let held = 0;
  for (const n of LEVELS) {
    // A fresh server per level: one level's backlog (a stall turns into queued audio) never carries over.
    const server = await startServer();
    let r: LevelResult;
    try {
      r = await level(server, n);
    } finally {
      server.child.stdin?.end();
      server.child.kill('SIGTERM');
    }
    results.push({
      name: `${n} calls echo round trip p95`,
      value: round(r.p95, 1),
      unit: 'ms',
      note: `p50 ${round(r.p50, 1)}, p99 ${round(r.p99, 1)} ms; ${r.samples} frames, ${r.lost} lost; server ${Math.round(r.serverCpu)}%, clients ${Math.round(r.clientCpu)}% of one core; machine ${Math.round(r.machine)}% of 2 cores busy`,
    });
    cpuPerCall.push(r.serverCpu / n);
    if (r.p95 > LIMIT_P95_MS) break;
    held = n;
  }
  results.push({ name: 'concurrent calls held (p95 round trip <= 50 ms)', value: held, unit: 'calls', note: `levels ${LEVELS.join(', ')}; see machine busy %` });
  // CPU time is counted whatever else runs: the cost per call says what one core holds without contention.
  const perCall = percentile(cpuPerCall, 50);
  results.push({ name: 'server CPU per echo call (median over levels)', value: round(perCall, 3), unit: '% of one core', note: `audio both ways, 50 frames/s each way` });
  results.push({ name: 'echo calls per core by CPU alone', value: Math.floor(100 / perCall), unit: 'calls', note: 'an upper bound: no latency limit applied' });
  return results;
}

export async function run(): Promise<BenchResult[]> {
  return [...(await oneWayLatency()), ...(await capacity())];
}

if (process.argv.includes(SERVE_FLAG)) {
  await serve();
} else if (import.meta.filename === process.argv[1]) {
  printResults('ws-medium.bench.ts', await run());
}
