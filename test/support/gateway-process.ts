/**
 * Run the real gateway — `bin/callroom.mjs serve` — as a child process, the way it is deployed, so an
 * end-to-end test or a benchmark talks to the composition root (src/main.ts) over real sockets.
 *
 * - The config is generated into a temporary directory: SIP on one port for UDP and TCP (a free port
 *   from the peer range unless given), an RTP range of its own, HTTP off, the energy VAD (no model to
 *   load), echo mode on, and a loopback trunk. Any section can be overridden.
 * - The child gets the parent's environment minus CALLROOM_* variables, so nothing from the shell
 *   changes the config a test wrote.
 * - Every stdout line is parsed as pino JSON and kept (`logs`, `waitForLog`), so tests assert on what
 *   the gateway says it did (call ended, reason, DTMF digits, per-call RTP figures).
 * - `stop()` sends SIGTERM and requires exit code 0 (a clean shutdown is part of what is tested);
 *   the process is also in managed-process.ts's registry, so `stopAllProcesses()` catches a leftover.
 * - `memory()` and `cpuTimeMs()` read /proc/PID for benchmarks and the flood test.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocatePortBlock, releasePorts } from './sip-peers/free-ports.ts';
import { ManagedProcess, type ProcessExit } from './sip-peers/managed-process.ts';

/** The CLI entry point. */
export const CALLROOM_BIN = fileURLToPath(new URL('../../bin/callroom.mjs', import.meta.url));

/** A SIP transport the gateway listens on. */
export type GatewayTransport = 'udp' | 'tcp';

/** How to run the gateway. Everything has a default. */
export interface GatewayProcessOptions {
  /** Transports to listen on, all on `sipPort`. Default ['udp', 'tcp']. */
  readonly transports?: readonly GatewayTransport[];
  /** SIP port (UDP and TCP). A free one is reserved when omitted. */
  readonly sipPort?: number;
  /** Keys of the `sip` section, over the defaults here (echo on, loopback trunk). `listen` is generated. */
  readonly sip?: Readonly<Record<string, unknown>>;
  /**
   * RTP port range. Default: a reserved block of `rtpPorts` ports (40 when omitted) in 20000-29999,
   * the gateway's usual range, which no test peer uses.
   */
  readonly rtp?: { readonly portMin: number; readonly portMax: number; readonly jitterBufferMs?: number };
  /** Ports in the default RTP block (2 per call). Default 40, at most 200. */
  readonly rtpPorts?: number;
  /** Log level. Default 'info' (the tests read info lines). */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Other top-level config sections (vad, limits, ...), replacing the generated ones. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Wait this long for "sip listening". Default 20,000 ms. */
  readonly startTimeoutMs?: number;
  /** Kill the gateway after this long. Default 300,000 ms. */
  readonly timeoutMs?: number;
  /** Keep at most this many parsed log lines (oldest dropped). Default 1,000,000. */
  readonly maxLogLines?: number;
}

/** One parsed log line: pino's level/time/msg plus whatever the call site logged. */
export interface GatewayLogLine {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly callId?: string;
  readonly [key: string]: unknown;
}

/** A listening SIP endpoint as the gateway reported it. */
export interface GatewayEndpoint {
  readonly transport: GatewayTransport;
  readonly address: string;
  readonly port: number;
}

/** Memory of the gateway process from /proc/PID/status, in kB. */
export interface GatewayMemory {
  readonly rssKb: number;
  /** Peak RSS since start. */
  readonly hwmKb: number;
}

/** A running gateway. */
export interface GatewayProcess {
  readonly process: ManagedProcess;
  readonly pid: number;
  readonly sipPort: number;
  readonly endpoints: readonly GatewayEndpoint[];
  readonly rtp: { readonly portMin: number; readonly portMax: number };
  readonly configFile: string;
  /** The config written (before defaults are applied by the gateway). */
  readonly config: Readonly<Record<string, unknown>>;
  /** `host:port` for a SIPp target. */
  readonly target: string;
  /** Every log line so far, oldest first. */
  logs(): readonly GatewayLogLine[];
  /** Log lines with this `msg`. */
  logsWith(msg: string): GatewayLogLine[];
  /**
   * Wait until at least `count` (default 1) lines match, and return the matching lines.
   * @throws Error on timeout or when the gateway exits first; the message has the output tail.
   */
  waitForLog(match: string | ((l: GatewayLogLine) => boolean), opts?: { readonly count?: number; readonly timeoutMs?: number }): Promise<GatewayLogLine[]>;
  memory(): GatewayMemory;
  /** User + system CPU time consumed so far, ms (/proc/PID/stat). */
  cpuTimeMs(): number;
  /**
   * SIGTERM, wait for the exit, remove the temp dir and release the ports.
   * @throws Error when the gateway did not exit by itself with code 0 within `graceMs` (then it is killed).
   */
  stop(graceMs?: number): Promise<ProcessExit>;
}

let clockTicks: number | undefined;

/** USER_HZ, the unit of utime/stime in /proc/PID/stat. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** VmRSS and VmHWM of a live process. */
export function processMemory(pid: number): GatewayMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** utime + stime of a live process, in ms. */
export function processCpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the full line are the 12th and 13th after "pid (comm)".
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / ticksPerSecond();
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CALLROOM_')) env[k] = v;
  return env;
}

/**
 * Write a config, start `callroom serve` and wait for "sip listening".
 * @throws Error with the gateway's output when it exits or stays silent.
 */
export async function startGatewayProcess(opts: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const reserved: number[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'callroom-gateway-'));
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaned ??= (async () => {
      releasePorts(reserved);
      await rm(dir, { recursive: true, force: true });
    })();
    return cleaned;
  };
  try {
    let sipPort = opts.sipPort;
    if (sipPort === undefined) {
      sipPort = await allocatePortBlock(1);
      reserved.push(sipPort);
    }
    let rtp = opts.rtp;
    if (rtp === undefined) {
      const n = opts.rtpPorts ?? 40;
      const base = await allocatePortBlock(n, { min: 20_000, max: 30_000 });
      for (let p = base; p < base + n; p++) reserved.push(p);
      rtp = { portMin: base, portMax: base + n - 1 };
    }
    const transports = opts.transports ?? ['udp', 'tcp'];
    const config: Record<string, unknown> = {
      log: { level: opts.logLevel ?? 'info' },
      sip: {
        echo: true,
        unknownSource: 'reject',
        trunks: [{ name: 'loopback', cidrs: ['127.0.0.0/8'] }],
        ...opts.sip,
        listen: transports.map((transport) => ({ transport, host: '127.0.0.1', port: sipPort })),
      },
      rtp: { host: '127.0.0.1', ...rtp },
      http: { enabled: false },
      // The energy VAD needs no model: start-up stays fast and echo mode does not use it anyway.
      vad: { engine: 'energy' },
      // Each gateway its own database, removed with the temporary directory.
      storage: { dataDir: join(dir, 'data') },
      ...opts.config,
    };
    const configFile = join(dir, 'callroom.json');
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    return await launch(opts, config, configFile, sipPort, rtp, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function launch(
  opts: GatewayProcessOptions,
  config: Record<string, unknown>,
  configFile: string,
  sipPort: number,
  rtp: { portMin: number; portMax: number },
  cleanup: () => Promise<void>,
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [CALLROOM_BIN, 'serve', '--config', configFile], {
    env: childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start callroom: ${err.message}`, { cause: err })));
  });
  if (child.pid === undefined) throw new Error('cannot start callroom: no pid');
  const proc = new ManagedProcess(child, child.pid, {
    command: process.execPath,
    args: [],
    name: `callroom serve :${sipPort}`,
    timeoutMs: opts.timeoutMs ?? 300_000,
    maxOutputChars: 200_000,
  });
  void proc.exited.then(cleanup);

  const maxLines = opts.maxLogLines ?? 1_000_000;
  const lines: GatewayLogLine[] = [];
  const watchers = new Set<() => void>();
  let partial = '';
  // ManagedProcess set the encoding to utf8: chunks are strings. Lines split across chunks are joined.
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      if (text.trim() === '') continue;
      try {
        lines.push(JSON.parse(text) as GatewayLogLine);
      } catch {
        lines.push({ level: 0, time: Date.now(), msg: 'unparsed output', text });
      }
    }
    if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
    for (const w of watchers) w();
  });
  void proc.exited.then(() => {
    for (const w of watchers) w();
  });

  const waitForLog: GatewayProcess['waitForLog'] = (match, o = {}) => {
    const pred = typeof match === 'string' ? (l: GatewayLogLine) => l.msg === match : match;
    const count = o.count ?? 1;
    const timeoutMs = o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.filter(pred);
        if (found.length >= count) finish(() => resolve(found));
        else if (!proc.running) finish(() => reject(new Error(`callroom exited before logging ${count} × ${String(match)}\n${proc.tail()}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`callroom: fewer than ${count} × ${String(match)} within ${timeoutMs} ms (${lines.filter(pred).length})\n${proc.tail()}`))),
        timeoutMs,
      );
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        watchers.delete(check);
        f();
      };
      watchers.add(check);
      check();
    });
  };

  let listening: GatewayLogLine;
  try {
    [listening] = (await waitForLog('sip listening', { timeoutMs: opts.startTimeoutMs ?? 20_000 })) as [GatewayLogLine];
  } catch (err) {
    await proc.stop();
    await cleanup();
    throw err;
  }
  const endpoints = (listening.endpoints ?? []) as GatewayEndpoint[];

  return {
    process: proc,
    pid: proc.pid,
    sipPort,
    endpoints,
    rtp,
    configFile,
    config,
    target: `127.0.0.1:${sipPort}`,
    logs: () => lines,
    logsWith: (msg) => lines.filter((l) => l.msg === msg),
    waitForLog,
    memory: () => processMemory(proc.pid),
    cpuTimeMs: () => processCpuTimeMs(proc.pid),
    async stop(graceMs = 10_000) {
      const exit = await proc.stop(graceMs);
      await cleanup();
      if (exit.exitCode !== 0 || exit.signal !== null) {
        throw new Error(`callroom did not shut down cleanly on SIGTERM: exit ${exit.exitCode} signal ${exit.signal}\n${proc.tail()}`);
      }
      return exit;
    },
  };
}
