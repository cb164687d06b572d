/**
 * The repository stands alone: nothing in the code, tests, benches, scripts or examples reads a path outside
 * it (a clone into an empty folder must pass `npm test`). Fails on: a reference to the team's reference
 * shelf beside the repository, an absolute path into a home or work folder, and a relative path literal that climbs above the
 * repository root from the file that holds it. Also pins the RFC 4475 corpus copied into fixtures/.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, RFC4475_DIR } from '../support/fixture-paths.ts';

const SCANNED = ['src', 'test', 'bench', 'scripts', 'examples', 'bin', 'config', 'native'];
const EXTENSIONS = /\.(ts|mts|mjs|cjs|js|json|ya?ml|sh|xml|cc|cpp|c|h|gyp)$/;

function* files(dir: string): Generator<string> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'build' || name.startsWith('.')) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else if (EXTENSIONS.test(name)) yield full;
  }
}

/** What in `text` (the file at `file`) points outside the repository; empty when nothing does. */
export function outsideReferences(file: string, text: string): string[] {
  const found: string[] = [];
  const self = path.relative(REPO_ROOT, file);
  // The team's reference shelf beside the repository, however it is reached.
  for (const m of text.matchAll(/(?:\.\.\/)+shared\/|\bshared\/(?:fixtures|docs)\b/g)) found.push(`${self}: ${m[0]}`);
  // Absolute paths into somebody's machine (system paths such as /usr/share or /proc are Debian's, not ours).
  for (const m of text.matchAll(/['"`](\/(?:work|home|root|Users)\/[^'"`\s]*)/g)) found.push(`${self}: ${m[1]}`);
  // Relative literals made only of `..` steps (and a tail) that climb above the root from this file's folder.
  for (const m of text.matchAll(/['"`]((?:\.\.\/)+(?:\.\.)?[^'"`\s]*|\.\.)['"`]/g)) {
    const rel = m[1] ?? '';
    const target = path.resolve(path.dirname(file), rel);
    if (path.relative(REPO_ROOT, target).startsWith('..')) found.push(`${self}: ${rel}`);
  }
  return found;
}

describe('the repository stands alone', () => {
  it('has no source, test, bench, script or example that reads outside the repository', () => {
    const offenders: string[] = [];
    let scanned = 0;
    for (const top of SCANNED) {
      for (const file of files(path.join(REPO_ROOT, top))) {
        if (file === import.meta.filename) continue;
        scanned += 1;
        offenders.push(...outsideReferences(file, readFileSync(file, 'utf8')));
      }
    }
    expect(scanned).toBeGreaterThan(300);
    expect(offenders).toEqual([]);
  });

  it('the check itself catches each kind of escape', () => {
    const file = path.join(REPO_ROOT, 'test/unit/sip/message/x.ts');
    // The shelf's path is put together here, so this file holds no such reference itself.
    const shelf = ['..', 'shared'].join('/');
    expect(outsideReferences(file, `const d = path.resolve(root, '${shelf}/fixtures/rfc4475');`)).toHaveLength(1);
    expect(outsideReferences(file, "const d = '/work/shared/fixtures/rfc4475';")).not.toHaveLength(0);
    expect(outsideReferences(file, "path.resolve(import.meta.dirname, '../../../../..')")).toHaveLength(1);
    expect(outsideReferences(file, "path.resolve(import.meta.dirname, '../../../..')")).toEqual([]);
    expect(outsideReferences(file, "import x from '../../../../src/core/errors.ts';")).toEqual([]);
    expect(outsideReferences(file, "readFileSync('/usr/share/sounds/asterisk/en/hello.wav')")).toEqual([]);
  });

  it('keeps the RFC 4475 corpus in fixtures/, byte for byte as pinned', () => {
    const sums = readFileSync(path.join(RFC4475_DIR, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums).toHaveLength(49);
    for (const line of sums) {
      const [hash, name] = line.split(/\s+/);
      const bytes = readFileSync(path.join(RFC4475_DIR, name ?? ''));
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(hash);
    }
    expect(readdirSync(RFC4475_DIR).filter((f) => f.endsWith('.dat'))).toHaveLength(49);
  });
});
