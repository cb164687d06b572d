/**
 * Summarise a V8 CPU profile (`node --cpu-prof`, a .cpuprofile file): where the samples fell, by function
 * (self time) and by a coarse area of the code (our files by folder, node internals, GC, idle), over the whole
 * profile or a window of it. Used for the profiles quoted in benchmark notes.
 *   npx node bench/cpu-profile-summary.ts FILE.cpuprofile [fromSeconds] [toSeconds] [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A coarse area for a frame: our source folder, a dependency, node internals, or V8's own entries. */
export function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'gc';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'program (native, outside JS)';
  const src = /\/src\/(.+)\/[^/]+$/.exec(url);
  if (src !== null && !url.includes('node_modules')) return `src/${src[1]}`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (mod !== null) return `dep ${mod[1]}`;
  if (url.startsWith('node:')) return url;
  if (url === '') return `native ${name}`;
  return url;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly byArea: ReadonlyArray<readonly [string, number]>;
  readonly byFunction: ReadonlyArray<readonly [string, number]>;
}

export function summarise(profile: CpuProfile, fromS = 0, toS = Infinity): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const area = new Map<string, number>();
  const fn = new Map<string, number>();
  let t = 0;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    if (t / 1000 < fromS || t / 1000 > toS) continue;
    const n = byId.get(profile.samples[i] as number);
    if (n === undefined) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + dt);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + dt);
    total += dt;
  }
  const sorted = (m: Map<string, number>): Array<readonly [string, number]> => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, byArea: sorted(area), byFunction: sorted(fn) };
}

if (import.meta.main) {
  const [file, from, to, top] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: cpu-profile-summary FILE.cpuprofile [fromSeconds] [toSeconds] [top]');
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(from ?? 0), to === undefined ? Infinity : Number(to));
  const busy = s.totalMs - (s.byArea.find(([a]) => a === 'idle')?.[1] ?? 0);
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  console.log(`${(s.totalMs / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages of busy time)`);
  console.log('\nby area:');
  for (const [a, ms] of s.byArea.slice(0, 25)) if (a !== 'idle') console.log(`${pct(ms)}  ${a}`);
  console.log('\nby function (self):');
  for (const [f, ms] of s.byFunction.slice(0, Number(top ?? 40))) if (!f.startsWith('(idle)')) console.log(`${pct(ms)}  ${f}`);
}
