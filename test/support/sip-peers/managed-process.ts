/**
 * A child process a test owns: started in the foreground (never self-daemonised, so its PID is the one
 * we hold), output kept (bounded, the tail wins: baresip prints a status line many times a second),
 * stopped by PID with SIGTERM then SIGKILL, and tracked in a registry so an `afterEach` can make sure
 * nothing outlives its test.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** How to start a process. */
export interface StartProcessOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Name used in error messages; defaults to the command. */
  readonly name?: string;
  /** Kill the process (SIGTERM, then SIGKILL) when it runs longer than this. */
  readonly timeoutMs?: number;
  /** Characters of stdout and of stderr kept, each (the most recent ones). Default 1,000,000. */
  readonly maxOutputChars?: number;
  /** Stops the process when aborted. */
  readonly signal?: AbortSignal;
}

/** How a process ended. */
export interface ProcessExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when the helper killed it for running past `timeoutMs`. */
  readonly timedOut: boolean;
  /**
   * True when this helper signalled it (stop, kill, timeout, abort) before it exited by itself. Check
   * it along with the exit code: SIPp, for one, exits 0 on SIGTERM.
   */
  readonly killed: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

const live = new Set<ManagedProcess>();

/** A started child process. Create with {@link startProcess}. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once when the process has exited and its pipes are closed. */
  readonly exited: Promise<ProcessExit>;
  #stdout = '';
  #stderr = '';
  #timedOut = false;
  #killed = false;
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  #max: number;
  #watchers = new Set<() => void>();

  constructor(child: ChildProcess, pid: number, opts: StartProcessOptions) {
    this.name = opts.name ?? opts.command;
    this.pid = pid;
    this.#max = opts.maxOutputChars ?? 1_000_000;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      this.#stdout = this.#keep(this.#stdout + d);
      this.#notify();
    });
    child.stderr?.on('data', (d: string) => {
      this.#stderr = this.#keep(this.#stderr + d);
      this.#notify();
    });
    if (opts.timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timedOut = true;
        void this.stop();
      }, opts.timeoutMs);
    }
    const onAbort = (): void => void this.stop();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    this.exited = new Promise((resolve) => {
      child.once('close', (exitCode, signal) => {
        this.#done = true;
        clearTimeout(this.#timer);
        opts.signal?.removeEventListener('abort', onAbort);
        live.delete(this);
        this.#notify();
        resolve({ exitCode, signal, timedOut: this.#timedOut, killed: this.#killed, stdout: this.#stdout, stderr: this.#stderr });
      });
    });
    live.add(this);
  }

  #keep(s: string): string {
    return s.length > this.#max ? s.slice(s.length - this.#max) : s;
  }

  #notify(): void {
    for (const w of this.#watchers) w();
  }

  get stdout(): string {
    return this.#stdout;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return !this.#done;
  }

  /**
   * Wait until stdout or stderr (as kept so far) matches `pattern`.
   * @throws Error on timeout or when the process exits first; the message carries the output tail.
   */
  waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = this.#stdout.match(pattern) ?? this.#stderr.match(pattern);
        if (m !== null) finish(() => resolve(m));
        else if (this.#done) finish(() => reject(new Error(`${this.name} exited before printing ${pattern}\n${this.tail()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms\n${this.tail()}`))), timeoutMs);
      const finish = (f: () => void): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
        f();
      };
      this.#watchers.add(check);
      check();
    });
  }

  /** The last lines of both streams, for error messages. */
  tail(chars = 3000): string {
    return `--- ${this.name} stdout ---\n${this.#stdout.slice(-chars)}\n--- ${this.name} stderr ---\n${this.#stderr.slice(-chars)}`;
  }

  /** Send a signal to the PID (no-op once exited). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.#done) return;
    this.#killed = true;
    try {
      process.kill(this.pid, signal);
    } catch {
      // ESRCH: it exited between the check and the kill.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. */
  async stop(graceMs = 2000): Promise<ProcessExit> {
    if (!this.#done) {
      this.kill('SIGTERM');
      const t = setTimeout(() => this.kill('SIGKILL'), graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(t);
      }
    }
    return this.exited;
  }
}

/**
 * Spawn a process with stdin closed and stdout/stderr piped.
 * @throws Error when it cannot be started (for example the binary is missing).
 */
export async function startProcess(opts: StartProcessOptions): Promise<ManagedProcess> {
  const child = spawn(opts.command, [...opts.args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`cannot start ${opts.name ?? opts.command}: ${err.message}`, { cause: err })));
  });
  if (child.pid === undefined) throw new Error(`cannot start ${opts.name ?? opts.command}: no pid`);
  return new ManagedProcess(child, child.pid, opts);
}

/** Run a process to completion (with `timeoutMs` as a kill deadline). */
export async function runProcess(opts: StartProcessOptions): Promise<ProcessExit> {
  const p = await startProcess(opts);
  return p.exited;
}

/** Processes started through this module that are still running. */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}

/** Stop every process still running (an `afterEach` safety net); resolves when all have exited. */
export async function stopAllProcesses(graceMs = 2000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(graceMs)));
}
