import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '../../../bin/callroom.mjs');
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-cli-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '' } });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start `serve`, wait for the HTTP listener, return its port and the child. */
async function serve(configText: string): Promise<{ child: ChildProcess; port: number; exit: Promise<number | null> }> {
  const cfg = join(dir, `serve-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(cfg, withDataDir(configText));
  const child = spawn(process.execPath, [BIN, 'serve', '--config', cfg], { env: { PATH: process.env.PATH ?? '' } });
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += String(d);
      for (const line of buf.split('\n')) {
        if (!line.includes('"http listening"')) continue;
        resolve((JSON.parse(line) as { address: { port: number } }).address.port);
      }
    });
    void exit.then((code) => reject(new Error(`serve exited early with ${code}`)));
  });
  return { child, port, exit };
}

/** Each served gateway keeps its database in the test's temporary directory. */
function withDataDir(configText: string): string {
  return `${configText}storage:\n  dataDir: ${join(dir, `data-${Math.random().toString(36).slice(2)}`)}\n`;
}

const SERVE_CONFIG = 'http:\n  host: 127.0.0.1\n  port: 0\nsip:\n  listen:\n    - { transport: udp, host: 127.0.0.1, port: 0 }\n';

describe('callroom CLI', () => {
  it('prints its version on Node 24', async () => {
    const r = await run(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^callroom \d+\.\d+\.\d+ \(node v24\./);
  });

  it('config check accepts the default config and hides secrets', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(good, 'providers:\n  deepgram:\n    apiKey: dg-super-secret\n');
    const r = await run(['config', 'check', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"apiKey": "[secret]"');
    expect(r.stdout).not.toContain('dg-super-secret');
    expect((await run(['config', 'check', 'config/default.yaml'])).code).toBe(0);
  });

  it('config check rejects a broken file naming the key', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'sip:\n  listen:\n    - { transport: sctp, port: 5060 }\nproviders:\n  openai:\n    apiKey: 99\n');
    const r = await run(['config', 'check', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sip\.listen\.0\.transport: /);
    expect(r.stderr).toMatch(/providers\.openai\.apiKey: /);
  });

  it('rejects unknown commands with usage', async () => {
    const r = await run(['dance']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage:');
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`serve starts, answers health checks and exits cleanly on ${signal}`, async () => {
      const { child, port, exit } = await serve(SERVE_CONFIG);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('process_cpu_user_seconds_total');
      child.kill(signal);
      expect(await exit).toBe(0);
    });
  }

  it('serve refuses to start when a configured Sherpa model directory is incomplete, naming the file', async () => {
    const cfg = join(dir, 'sherpa.yaml');
    await writeFile(cfg, `http:\n  port: 0\nproviders:\n  sherpa:\n    sttModelDir: ${dir}\n`);
    const r = await run(['serve', '--config', cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/providers\.sherpa\.sttModelDir: missing .*tokens\.txt/);
  });

  it('npm start runs serve through the pinned runtime', async () => {
    const cfg = join(dir, 'npm-start.yaml');
    await writeFile(cfg, withDataDir(SERVE_CONFIG));
    const child = spawn('npm', ['start', '--silent', '--', '--config', cfg], {
      cwd: join(import.meta.dirname, '../../..'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      detached: true,
    });
    children.push(child);
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += String(d);
        if (out.includes('"http listening"')) resolve();
      });
      void exit.then((code) => reject(new Error(`npm start exited with ${code}: ${out}`)));
    });
    expect(out).toContain('"starting callroom"');
    process.kill(-(child.pid as number), 'SIGTERM');
    await exit;
  });

  it('serve stays up with HTTP disabled until signalled', async () => {
    const cfg = join(dir, 'nohttp.yaml');
    await writeFile(cfg, withDataDir('http:\n  enabled: false\nsip:\n  listen:\n    - { transport: udp, host: 127.0.0.1, port: 0 }\n'));
    const child = spawn(process.execPath, [BIN, 'serve', '--config', cfg], { env: { PATH: process.env.PATH ?? '' } });
    children.push(child);
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Started (models loaded, SIP bound), then still up a second later with nothing listening on HTTP.
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"sip listening"')) resolve();
      });
      void exit.then((code) => reject(new Error(`serve exited with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 1000));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });

  it('serve exits non-zero on a bad config', async () => {
    const bad = join(dir, 'bad-serve.yaml');
    await writeFile(bad, 'http:\n  port: -1\n');
    const r = await run(['serve', '--config', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/http\.port: /);
  });
});
