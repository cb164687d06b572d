/**
 * A throwaway PostgreSQL server for tests and benches (Debian package `postgresql`): `initdb` into a
 * temporary directory, `postgres` in the foreground on a loopback port (TCP only, no Unix socket), password
 * authentication (SCRAM) for one superuser, durability off (fsync, synchronous_commit: it is thrown away).
 *
 * PostgreSQL refuses to run as root: as root, initdb and the server run as `nobody` through `setpriv`
 * (which execs, so the PID we hold is the postmaster's) and the temporary directory is handed to that
 * user. `stop()` asks for a fast shutdown (SIGINT: clients are disconnected), SIGKILL after a grace, then
 * removes the directory. The server is a ManagedProcess, so `stopAllProcesses()` catches a leftover, and
 * it gets SIGINT from the kernel if the process that started it dies first (parent-death signal).
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { allocatePorts, releasePorts } from './sip-peers/free-ports.ts';
import { runProcess, startProcess, type ManagedProcess } from './sip-peers/managed-process.ts';

const PG_ROOT = '/usr/lib/postgresql';
/** The unprivileged user a root test runs PostgreSQL as. */
const NOBODY = 65534;

/** The newest installed server's bin directory, or undefined. */
async function findBinDir(): Promise<string | undefined> {
  let versions: string[];
  try {
    versions = await readdir(PG_ROOT);
  } catch {
    return undefined;
  }
  const dirs = versions
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(PG_ROOT, v, 'bin'));
  return dirs.find((d) => existsSync(join(d, 'postgres')) && existsSync(join(d, 'initdb')));
}

/** Whether a PostgreSQL server can be started here (the binaries are installed). */
export async function postgresAvailable(): Promise<boolean> {
  return (await findBinDir()) !== undefined;
}

export interface PostgresOptions {
  /** Listen address. Default 127.0.0.1. */
  readonly host?: string;
  /** Port; a free one is reserved when omitted. */
  readonly port?: number;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Kill the server after this long. Default 600,000 ms. */
  readonly timeoutMs?: number;
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** `postgres://user@host:port/postgres` (no password: give it separately). */
  readonly url: string;
  /** The same with the password in it. */
  readonly urlWithPassword: string;
  readonly process: ManagedProcess;
  /** Run SQL as the superuser (one short connection); BIGINTs come back as strings (pg's default). */
  sql(text: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  /** Stop the server (fast shutdown) and keep the data directory: `restart()` brings it back. */
  halt(): Promise<void>;
  /** Start the stopped server again on the same port and data. */
  restart(): Promise<void>;
  /** Stop and remove everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Through setpriv, which execs (the PID is the command's): as `nobody` when we are root, and with a
 * parent-death signal, so a server whose test process dies without stopping it shuts down (SIGINT: fast).
 */
function asUser(root: boolean, command: string, args: readonly string[]): { command: string; args: string[] } {
  const user = root ? [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : [];
  return { command: 'setpriv', args: [...user, '--pdeathsig', 'SIGINT', '--', command, ...args] };
}

/**
 * initdb + postgres, ready for connections when it resolves.
 * @throws Error with the server's output when it does not come up.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = await findBinDir();
  if (bin === undefined) throw new Error(`no PostgreSQL server under ${PG_ROOT} (Debian package postgresql)`);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const host = opts.host ?? '127.0.0.1';
  const reserved: number[] = [];
  const port = opts.port ?? (reserved.push(...(await allocatePorts(1))), reserved[0] as number);
  const dir = await mkdtemp(join(tmpdir(), 'callroom-pg-'));
  const data = join(dir, 'data');
  const user = 'callroom';
  const password = randomBytes(18).toString('base64url');
  let proc: ManagedProcess | undefined;
  let removed: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    removed ??= (async () => {
      releasePorts(reserved);
      await rm(dir, { recursive: true, force: true });
    })();
    return removed;
  };
  const halt = async (): Promise<void> => {
    const p = proc;
    if (p === undefined || !p.running) return;
    p.kill('SIGINT');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    try {
      await p.exited;
    } finally {
      clearTimeout(t);
    }
  };
  const launch = async (): Promise<void> => {
    const settings: Record<string, string | number> = {
      listen_addresses: host,
      port,
      unix_socket_directories: '',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: 200,
      shared_buffers: '32MB',
      ...opts.settings,
    };
    const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const cmd = asUser(root, join(bin, 'postgres'), args);
    proc = await startProcess({ ...cmd, name: `postgres :${port}`, timeoutMs: opts.timeoutMs ?? 600_000, maxOutputChars: 100_000 });
    await proc.waitForOutput(/database system is ready to accept connections/, 30_000).catch(async (err: unknown) => {
      await halt();
      throw err;
    });
  };
  try {
    if (root) await chown(dir, NOBODY, NOBODY);
    const pwfile = join(dir, 'pw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (root) await chown(pwfile, NOBODY, NOBODY);
    const init = asUser(root, join(bin, 'initdb'), ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-locale', '-N', '--no-instructions']);
    const r = await runProcess({ ...init, name: 'initdb', timeoutMs: 60_000 });
    if (r.exitCode !== 0) throw new Error(`initdb failed (exit ${r.exitCode}):\n${r.stderr.slice(-3000)}${r.stdout.slice(-2000)}`);
    await rm(pwfile);
    await launch();
  } catch (err) {
    await halt();
    await remove();
    throw err;
  }
  const url = `postgres://${user}@${host}:${port}/postgres`;
  const urlWithPassword = `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/postgres`;
  let stopped = false;
  return {
    host,
    port,
    user,
    password,
    url,
    urlWithPassword,
    get process() {
      return proc as ManagedProcess;
    },
    async sql(text, params = []) {
      const client = new Client({ connectionString: urlWithPassword });
      await client.connect();
      try {
        // Several statements in one text come back as one result each: their rows, in order.
        const result: unknown = await client.query(text, params);
        const results = (Array.isArray(result) ? result : [result]) as Array<{ rows?: Array<Record<string, unknown>> }>;
        return results.flatMap((r) => r.rows ?? []);
      } finally {
        await client.end();
      }
    },
    halt,
    restart: launch,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt();
      await remove();
    },
  };
}
