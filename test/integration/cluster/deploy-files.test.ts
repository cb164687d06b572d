/**
 * The deployment files of docs/deploy.md, checked as far as this machine can without a Docker engine:
 * config/kamailio.cfg passes `kamailio -c` as shipped and with rtpengine; config/docker-compose.yml's
 * Kamailio command line (with its generated node list) passes `kamailio -c`; and each Callroom service's
 * environment, applied to config/cluster-node.yaml the way the gateway loads it, is a valid configuration
 * of a distinct node on the shared database, reachable by the proxy. (The topology itself runs in
 * cluster.test.ts.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../../src/config/load-config.ts';
import type { Config } from '../../../src/config/schema.ts';
import { REPO_ROOT } from '../../support/fixture-paths.ts';
import { runProcess } from '../../support/sip-peers/managed-process.ts';

const KAMAILIO_CFG = join(REPO_ROOT, 'config', 'kamailio.cfg');
const COMPOSE = join(REPO_ROOT, 'config', 'docker-compose.yml');
const NODE_CONFIG = join(REPO_ROOT, 'config', 'cluster-node.yaml');

/** What an operator puts in config/.env. */
const DOT_ENV: Readonly<Record<string, string>> = {
  CALLROOM_PUBLIC_IP: '127.0.0.1',
  CALLROOM_DB_PASSWORD: 'db-password-for-the-test',
  CALLROOM_TOKEN_SECRET: 'a-token-secret-of-at-least-32-characters',
  CALLROOM_API_KEY: 'api-key-for-the-test',
};

/** Compose's interpolation: ${VAR}, ${VAR:?message}, ${VAR:-default}, and $$ for a literal $. */
function interpolate(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([?-])([^}]*))?\}/g, (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
    if (whole === '$$') return '$';
    const value = env[name as string];
    if (value !== undefined && value !== '') return value;
    if (op === '?') throw new Error(`compose would stop: ${arg}`);
    if (op === '-') return arg ?? '';
    return '';
  });
}

interface ComposeService {
  readonly environment?: Record<string, string>;
  readonly command?: string[] | string;
  readonly network_mode?: string;
}

let work: string;
let compose: { services: Record<string, ComposeService> };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'callroom-deploy-'));
  compose = parseYaml(await readFile(COMPOSE, 'utf8'), { merge: true }) as typeof compose;
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function kamailioCheck(args: readonly string[]): Promise<{ exitCode: number | null; output: string }> {
  const r = await runProcess({ command: 'kamailio', args: ['-c', '-Y', work, '-f', KAMAILIO_CFG, ...args], timeoutMs: 20_000 });
  return { exitCode: r.exitCode, output: r.stderr + r.stdout };
}

describe('deployment files', () => {
  it('config/kamailio.cfg passes kamailio -c, as shipped and with rtpengine', async () => {
    const plain = await kamailioCheck([]);
    expect(plain.exitCode, plain.output.slice(-2000)).toBe(0);
    const withRtpengine = await kamailioCheck(['-A', 'WITH_RTPENGINE']);
    expect(withRtpengine.exitCode, withRtpengine.output.slice(-2000)).toBe(0);
    // A broken define is refused: the check is not vacuous.
    const broken = await kamailioCheck(['-A', 'SIP_LISTEN_UDP=udp:not an address']);
    expect(broken.exitCode).not.toBe(0);
  });

  it("compose's Kamailio command line, node list included, passes kamailio -c", async () => {
    const k = compose.services['kamailio'];
    const command = Array.isArray(k?.command) ? k.command.join(' ') : (k?.command ?? '');
    expect(k?.network_mode).toBe('host');
    const list = join(work, 'dispatcher.list');
    const script = interpolate(command, {})
      .replaceAll('/tmp/dispatcher.list', list)
      .replaceAll('/etc/kamailio/kamailio.cfg', KAMAILIO_CFG)
      .replace('exec kamailio -DD -E', `exec kamailio -c -Y ${work}`);
    const r = await runProcess({ command: 'sh', args: ['-c', script], env: { ...process.env, CALLROOM_PUBLIC_IP: DOT_ENV['CALLROOM_PUBLIC_IP'] }, timeoutMs: 20_000 });
    expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
    expect(await readFile(list, 'utf8')).toBe('1 sip:127.0.0.1:5061\n1 sip:127.0.0.1:5062\n1 sip:127.0.0.1:5063\n');
  });

  it("each Callroom service's environment makes a valid, distinct node of one deployment", async () => {
    const names = Object.keys(compose.services).filter((n) => n.startsWith('callroom-'));
    expect(names).toEqual(['callroom-1', 'callroom-2', 'callroom-3']);
    const configs: Config[] = [];
    for (const name of names) {
      const service = compose.services[name] as ComposeService;
      expect(service.network_mode).toBe('host');
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = interpolate(String(v), DOT_ENV);
      configs.push(await loadConfig(NODE_CONFIG, env));
    }
    const ip = DOT_ENV['CALLROOM_PUBLIC_IP'];
    for (const [i, c] of configs.entries()) {
      expect(c.cluster.nodeId).toBe(`node-${i + 1}`);
      expect(c.storage).toMatchObject({ driver: 'postgres', url: 'postgres://callroom@127.0.0.1:5432/callroom', password: DOT_ENV['CALLROOM_DB_PASSWORD'] });
      expect(c.http).toMatchObject({ host: ip, port: 8081 + i, publicUrl: `http://${ip}:${8081 + i}`, tokenSecret: DOT_ENV['CALLROOM_TOKEN_SECRET'], apiKeys: [DOT_ENV['CALLROOM_API_KEY']] });
      expect(c.sip.listen).toEqual([{ transport: 'udp', host: ip, port: 5061 + i }]);
      expect(c.sip.trunks[0]?.cidrs).toEqual([`${ip}/32`]);
      expect(c.rtp.host).toBe(ip);
    }
    // RTP ranges of nodes sharing the host do not overlap.
    const ranges = configs.map((c) => [c.rtp.portMin, c.rtp.portMax] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1]);
    // Without the secrets compose refuses to start, rather than running nodes that cannot verify each other's tokens.
    const service = compose.services['callroom-1'] as ComposeService;
    expect(() => interpolate(String(service.environment?.['CALLROOM_HTTP__TOKEN_SECRET']), {})).toThrow(/CALLROOM_TOKEN_SECRET/);
  });
});
