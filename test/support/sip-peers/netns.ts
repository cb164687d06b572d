/**
 * Run a command inside a fresh network namespace that has only a loopback interface (`unshare -n`,
 * then `ip link set lo up`), so torture and fuzz traffic can never leave the machine: a response sent
 * to a Via host such as 192.0.2.1 gets "network unreachable", and a DNS lookup for example.com has no
 * server to reach. Everything that must talk (the stack under test and the fuzzer) has to run inside
 * the same namespace, typically as one node script started with {@link runNodeInNetns}.
 *
 * Needs CAP_SYS_ADMIN (root, as in CI); as another user `unshare -r -n` (a user namespace mapping
 * that user to root) is used, which works where unprivileged user namespaces are enabled.
 */
import { runProcess, startProcess, type ManagedProcess, type ProcessExit } from './managed-process.ts';

/** What to run. */
export interface NetnsOptions {
  readonly command: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill after this long. Default 60,000 ms. */
  readonly timeoutMs?: number;
}

// `ip link set lo up` first, then exec the command with its arguments passed through "$@" untouched.
const BOOT = 'ip link set lo up && exec "$@"';

function unshareArgs(opts: NetnsOptions): string[] {
  const user = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['-r'] : [];
  return [...user, '-n', '--', 'sh', '-c', BOOT, 'callroom-netns', opts.command, ...(opts.args ?? [])];
}

let available: Promise<boolean> | undefined;

/** Whether loopback-only namespaces can be made here (checked once per process). */
export function netnsAvailable(): Promise<boolean> {
  available ??= runInNetns({ command: 'true', timeoutMs: 10_000 }).then(
    (r) => r.exitCode === 0,
    () => false,
  );
  return available;
}

/** Run `command` in a new loopback-only network namespace and wait for it to exit. */
export function runInNetns(opts: NetnsOptions): Promise<ProcessExit> {
  return runProcess({
    command: 'unshare',
    args: unshareArgs(opts),
    cwd: opts.cwd,
    env: opts.env,
    name: `netns ${opts.command}`,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

/** Start `command` in a new loopback-only network namespace and return at once. */
export function startInNetns(opts: NetnsOptions): Promise<ManagedProcess> {
  return startProcess({
    command: 'unshare',
    args: unshareArgs(opts),
    cwd: opts.cwd,
    env: opts.env,
    name: `netns ${opts.command}`,
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

/**
 * Run a Node script (TypeScript works: Node 24 strips types) with this Node binary inside a
 * loopback-only namespace.
 */
export function runNodeInNetns(script: string, args: readonly string[] = [], opts: Omit<NetnsOptions, 'command' | 'args'> = {}): Promise<ProcessExit> {
  return runInNetns({ ...opts, command: process.execPath, args: [script, ...args] });
}
