/**
 * Run SIPp 3.6.1 (`sipp`, Debian package sip-tester) as a test peer.
 *
 * Conventions that keep parallel runs apart and make failures readable:
 * - SIPp runs in the foreground of its own child process (never `-bg`, whose PID is another one) with
 *   `-nostdin`, and is killed by PID on timeout or abort.
 * - Every instance gets its own SIP port (`-p`), media port block (`-mp`, which SIPp also uses as the
 *   source port of `play_pcap_audio`) and control port (`-cp`, default 8888 would be shared).
 * - It runs in a private work directory, because SIPp names its trace files after the scenario and
 *   writes them to the current directory; error, message, action-log and statistics files are read back
 *   into the result, and the directory is removed.
 * - Local, media and remote addresses are 127.0.0.1 unless told otherwise; without `-mi` SIPp puts the
 *   host's primary address into `[media_ip]`.
 *
 * Exit codes (SIPp 3.6.1): 0 all calls succeeded, 1 at least one failed, 97 stopped by an internal
 * command, 99 normal exit without any call processed, 255 fatal error, 254 could not bind.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePortBlock, allocatePorts, releasePorts } from './free-ports.ts';
import { startProcess, type ManagedProcess } from './managed-process.ts';
import { parseSippRtt, parseSippStats, type SippRtt, type SippStats } from './sipp-stats.ts';
import { waitForPort } from './wait-for-port.ts';

/** SIPp transport modes we use: UDP or TCP, one socket for all calls. */
export type SippTransport = 'u1' | 't1' | 'un' | 'tn';

/** The built-in scenarios of SIPp 3.6.1 (`sipp -sd NAME` prints one). */
export type SippBuiltin =
  | 'uac'
  | 'uas'
  | 'regexp'
  | 'branchc'
  | 'branchs'
  | 'uac_pcap'
  | '3pcc-A'
  | '3pcc-B'
  | '3pcc-C-A'
  | '3pcc-C-B';

/** How to run SIPp. Only `scenario` is required. */
export interface SippOptions {
  /** A scenario file (absolute path, see `scenarioPath`) or a built-in scenario. */
  readonly scenario: { readonly file: string } | { readonly builtin: SippBuiltin };
  /** Remote `host:port` for a UAC; omitted for a UAS. */
  readonly target?: string;
  /** Default 'u1'. */
  readonly transport?: SippTransport;
  /** Default 127.0.0.1 (for `-i` and `-mi`). */
  readonly localIp?: string;
  /** `-p`; a free port is allocated when omitted. */
  readonly localPort?: number;
  /** `-mp` (first of a block of 4: SIPp binds it and +2); allocated when omitted. */
  readonly mediaPort?: number;
  /** `-key NAME VALUE`: values for `[NAME]` in the scenario. */
  readonly keys?: Readonly<Record<string, string | number>>;
  /** `-set NAME VALUE`: initial values of `[$NAME]` variables. */
  readonly variables?: Readonly<Record<string, string | number>>;
  /** `-s`: the user part of the Request-URI (`[service]`). */
  readonly service?: string;
  /** `-m`: calls to run before exiting. Default 1. */
  readonly calls?: number;
  /** `-r`: call rate, calls per `ratePeriodMs`. */
  readonly rate?: number;
  /** `-rp` in milliseconds. */
  readonly ratePeriodMs?: number;
  /** `-l`: most simultaneous calls. */
  readonly maxConcurrent?: number;
  /** `-d`: length of a `<pause/>` without attributes, in ms. */
  readonly pauseMs?: number;
  /** `-au` / `-ap`: credentials for `[authentication]`. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Kill SIPp (by PID) after this long. Default 30,000 ms. */
  readonly timeoutMs?: number;
  /** `-trace_stat` every `periodS` seconds (default 1) into the result's `stats`. */
  readonly traceStat?: boolean | { readonly periodS: number };
  /** `-trace_rtt`, dumped every `freq` calls (default 1), into the result's `rtt`. */
  readonly traceRtt?: boolean | { readonly freq: number };
  /** `-trace_msg` into the result's `messages` (off by default: large under load). */
  readonly traceMessages?: boolean;
  /** Anything else, appended last. */
  readonly extraArgs?: readonly string[];
  /** Keep the work directory (for debugging a scenario); its path is in the result. */
  readonly keepWorkDir?: boolean;
  readonly signal?: AbortSignal;
}

/** What a SIPp run produced. */
export interface SippResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  /** Killed by the helper (timeout, abort or `stop()`): SIPp then often exits 0 all the same. */
  readonly killed: boolean;
  /** The final statistics screens SIPp prints. */
  readonly stdout: string;
  readonly stderr: string;
  /** `-trace_err` file: unexpected messages, aborted calls, failed regexps. */
  readonly errors: string;
  /** `-trace_logs` file: the scenario's `<log>` actions. */
  readonly logs: string;
  /** `-trace_msg` file when `traceMessages` was set. */
  readonly messages: string | undefined;
  readonly stats: SippStats | undefined;
  readonly rtt: readonly SippRtt[] | undefined;
  readonly args: readonly string[];
  readonly workDir: string;
}

/** A SIPp that has been started; see {@link startSipp}. */
export interface SippPeer {
  readonly process: ManagedProcess;
  readonly localPort: number;
  readonly mediaPort: number;
  readonly controlPort: number;
  /** Resolves when SIPp exits (by itself, by timeout or by `stop`). */
  readonly done: Promise<SippResult>;
  /** Kill it by PID (if still running) and return the result. */
  stop(): Promise<SippResult>;
}

async function readIfPresent(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return '';
  }
}

function scenarioArgs(s: SippOptions['scenario']): string[] {
  return 'file' in s ? ['-sf', s.file] : ['-sn', s.builtin];
}

/**
 * Start SIPp and, for a server scenario (no `target`), wait until it has bound its SIP port.
 * @throws Error when SIPp cannot be started or exits before binding.
 */
export async function startSipp(opts: SippOptions): Promise<SippPeer> {
  const transport = opts.transport ?? 'u1';
  const ip = opts.localIp ?? '127.0.0.1';
  // Ports this call reserved itself, given back when SIPp has exited.
  const allocated: number[] = [];
  let localPort = opts.localPort;
  if (localPort === undefined) {
    localPort = (await allocatePorts(1))[0] as number;
    allocated.push(localPort);
  }
  let mediaPort = opts.mediaPort;
  if (mediaPort === undefined) {
    mediaPort = await allocatePortBlock(4);
    allocated.push(mediaPort, mediaPort + 1, mediaPort + 2, mediaPort + 3);
  }
  const controlPort = (await allocatePorts(1))[0] as number;
  allocated.push(controlPort);
  const workDir = await mkdtemp(join(tmpdir(), 'callroom-sipp-'));

  const args = [
    ...scenarioArgs(opts.scenario),
    '-nostdin',
    '-t', transport,
    '-i', ip,
    '-mi', ip,
    '-p', String(localPort),
    '-mp', String(mediaPort),
    '-cp', String(controlPort),
    '-m', String(opts.calls ?? 1),
    '-trace_err', '-error_file', join(workDir, 'errors.log'),
    '-trace_logs', '-log_file', join(workDir, 'logs.log'),
  ];
  if (opts.service !== undefined) args.push('-s', opts.service);
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.ratePeriodMs !== undefined) args.push('-rp', `${opts.ratePeriodMs}ms`);
  if (opts.maxConcurrent !== undefined) args.push('-l', String(opts.maxConcurrent));
  if (opts.pauseMs !== undefined) args.push('-d', String(opts.pauseMs));
  if (opts.auth !== undefined) args.push('-au', opts.auth.username, '-ap', opts.auth.password);
  for (const [k, v] of Object.entries(opts.keys ?? {})) args.push('-key', k, String(v));
  for (const [k, v] of Object.entries(opts.variables ?? {})) args.push('-set', k, String(v));
  if (opts.traceStat !== undefined && opts.traceStat !== false) {
    const period = opts.traceStat === true ? 1 : opts.traceStat.periodS;
    args.push('-trace_stat', '-stf', join(workDir, 'stats.csv'), '-fd', String(period));
  }
  if (opts.traceRtt !== undefined && opts.traceRtt !== false) {
    args.push('-trace_rtt', '-rtt_freq', String(opts.traceRtt === true ? 1 : opts.traceRtt.freq));
  }
  if (opts.traceMessages === true) args.push('-trace_msg', '-message_file', join(workDir, 'messages.log'));
  args.push(...(opts.extraArgs ?? []));
  if (opts.target !== undefined) args.push(opts.target);

  let proc: ManagedProcess;
  try {
    proc = await startProcess({
      command: 'sipp',
      args,
      cwd: workDir,
      name: `sipp ${'file' in opts.scenario ? opts.scenario.file.split('/').pop() : opts.scenario.builtin}`,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxOutputChars: 200_000,
      signal: opts.signal,
    });
  } catch (err) {
    releasePorts(allocated);
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }

  const done = proc.exited.then(async (exit): Promise<SippResult> => {
    const files = await readdir(workDir).catch(() => [] as string[]);
    const rttFile = files.find((f) => f.endsWith('_rtt.csv'));
    const statsText = await readIfPresent(join(workDir, 'stats.csv'));
    let stats: SippStats | undefined;
    try {
      stats = statsText === '' ? undefined : parseSippStats(statsText);
    } catch {
      stats = undefined;
    }
    const result: SippResult = {
      exitCode: exit.exitCode,
      signal: exit.signal,
      timedOut: exit.timedOut,
      killed: exit.killed,
      stdout: exit.stdout,
      stderr: exit.stderr,
      errors: await readIfPresent(join(workDir, 'errors.log')),
      logs: await readIfPresent(join(workDir, 'logs.log')),
      messages: opts.traceMessages === true ? await readIfPresent(join(workDir, 'messages.log')) : undefined,
      stats,
      rtt: rttFile === undefined ? undefined : parseSippRtt(await readIfPresent(join(workDir, rttFile))),
      args,
      workDir,
    };
    if (opts.keepWorkDir !== true) await rm(workDir, { recursive: true, force: true });
    releasePorts(allocated);
    return result;
  });

  const peer: SippPeer = {
    process: proc,
    localPort,
    mediaPort,
    controlPort,
    done,
    async stop() {
      await proc.stop();
      return done;
    },
  };
  if (opts.target === undefined) {
    try {
      await waitForPort(localPort, transport.startsWith('t') ? 'tcp' : 'udp', 10_000, () => proc.running);
    } catch (err) {
      const r = await peer.stop();
      throw new Error(`${(err as Error).message}\n${describeSippResult(r)}`, { cause: err });
    }
  }
  return peer;
}

/** True when SIPp ended by itself with exit code 0: every call of the run succeeded. */
export function sippPassed(r: SippResult): boolean {
  return r.exitCode === 0 && !r.killed;
}

/** Start SIPp and wait for it to exit. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const peer = await startSipp(opts);
  return peer.done;
}

/** A readable account of a run for assertion messages: command, exit, errors, last screen. */
export function describeSippResult(r: SippResult): string {
  return [
    `sipp ${r.args.join(' ')}`,
    `exit ${r.exitCode}${r.signal !== null ? ` signal ${r.signal}` : ''}${r.timedOut ? ' (timed out)' : r.killed ? ' (killed)' : ''}`,
    r.errors.trim() === '' ? '' : `--- errors ---\n${r.errors.slice(-4000)}`,
    r.logs.trim() === '' ? '' : `--- logs ---\n${r.logs.slice(-2000)}`,
    r.stderr.trim() === '' ? '' : `--- stderr ---\n${r.stderr.slice(-2000)}`,
    `--- stdout ---\n${r.stdout.slice(-3000)}`,
  ]
    .filter((s) => s !== '')
    .join('\n');
}
