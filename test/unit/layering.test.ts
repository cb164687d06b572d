/**
 * The layering of docs/house-style.md, enforced on every import under src/:
 *
 *   core <- config <- media, sip, vad, storage <- providers <- room <- call <- transports, api <- wiring <- main <- cli
 *
 * An import may only go to a lower layer (or stay in its own folder). On top of the ranks: `transports`
 * never imports `room` (it sees the call layer only), `transports` and `api` never import each other,
 * `media`, `sip` and `vad` never import each other, and inside `sip` the stack only looks down:
 * message <- transport <- transaction <- dialog <- user-agent (sdp and auth beside message).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixture-paths.ts';

const SRC = path.join(REPO_ROOT, 'src');

const RANK: Record<string, number> = {
  core: 0,
  config: 1,
  media: 2,
  sip: 2,
  vad: 2,
  storage: 2,
  providers: 3,
  room: 4,
  call: 5,
  transports: 6,
  api: 6,
  wiring: 6.5,
  main: 7,
  cli: 8,
  version: 0,
};

/** Pairs that ranks allow but the architecture forbids. */
const FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ['transports', 'room'],
  ['transports', 'api'],
  ['api', 'transports'],
];

const SIP_RANK: Record<string, number> = { message: 0, sdp: 1, auth: 1, transport: 1, transaction: 2, dialog: 3, 'user-agent': 4 };

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* sources(full);
    else if (name.endsWith('.ts')) yield full;
  }
}

/** Top folder under src/ ("main" for src/main.ts), and for sip the sub-layer. */
function areaOf(file: string): { top: string; sub: string | undefined } {
  const rel = path.relative(SRC, file).split(path.sep);
  const top = rel.length === 1 ? (rel[0] ?? '').replace(/\.ts$/, '') : (rel[0] ?? '');
  return { top, sub: top === 'sip' && rel.length > 2 ? rel[1] : undefined };
}

/** Every relative import/export-from specifier of a file, resolved to an absolute path. */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec !== undefined) out.push(path.resolve(path.dirname(file), spec));
  }
  return out;
}

/** Why an import from `from` to `to` breaks the layering, or undefined when it is allowed. */
export function violation(from: string, to: string): string | undefined {
  if (!to.startsWith(SRC + path.sep)) return `${rel(from)} imports ${rel(to)}, outside src/`;
  const a = areaOf(from);
  const b = areaOf(to);
  if (a.top === b.top) {
    if (a.top !== 'sip' || a.sub === undefined || b.sub === undefined || a.sub === b.sub) return undefined;
    const ra = SIP_RANK[a.sub];
    const rb = SIP_RANK[b.sub];
    if (ra === undefined || rb === undefined) return `${rel(from)}: unknown sip layer`;
    return rb < ra ? undefined : `${rel(from)} (sip/${a.sub}) imports sip/${b.sub}, which is not below it`;
  }
  const ra = RANK[a.top];
  const rb = RANK[b.top];
  if (ra === undefined || rb === undefined) return `${rel(from)} -> ${rel(to)}: folder without a layer (add it to RANK)`;
  if (FORBIDDEN.some(([x, y]) => x === a.top && y === b.top)) return `${rel(from)} imports ${rel(to)}: ${a.top} must not import ${b.top}`;
  if (rb >= ra) return `${rel(from)} (${a.top}) imports ${rel(to)} (${b.top}), which is not below it`;
  return undefined;
}

function rel(p: string): string {
  return path.relative(REPO_ROOT, p);
}

describe('layering', () => {
  it('every import under src/ goes down the layers', () => {
    const problems: string[] = [];
    let edges = 0;
    for (const file of sources(SRC)) {
      for (const target of importsOf(file, readFileSync(file, 'utf8'))) {
        edges++;
        const why = violation(file, target);
        if (why !== undefined) problems.push(why);
      }
    }
    expect(edges).toBeGreaterThan(500);
    expect(problems).toEqual([]);
  });

  it('catches upward and forbidden imports', () => {
    const f = (p: string): string => path.join(SRC, p);
    expect(violation(f('room/tool-loop.ts'), f('call/call-session.ts'))).toMatch(/not below/);
    expect(violation(f('media/rtp/pacer.ts'), f('sip/message/uri.ts'))).toMatch(/not below/);
    expect(violation(f('transports/sip/x.ts'), f('room/client-tool.ts'))).toMatch(/must not import room/);
    expect(violation(f('sip/message/uri.ts'), f('sip/dialog/dialog.ts'))).toMatch(/not below/);
    expect(violation(f('sip/user-agent/a.ts'), f('sip/dialog/dialog.ts'))).toBeUndefined();
    expect(violation(f('call/call-session.ts'), f('room/room-kit.ts'))).toBeUndefined();
    expect(violation(f('main.ts'), f('transports/sip/sip-call-handler.ts'))).toBeUndefined();
    expect(importsOf(f('x/a.ts'), "import type { A } from '../core/a.ts';\nexport { B } from './b.ts';")).toEqual([f('core/a.ts'), f('x/b.ts')]);
  });
});
