/**
 * fnmatch-style globs (Python `fnmatch.fnmatchcase`): `*` matches any run of characters (also none,
 * also `/`), `?` exactly one, `[abc]` / `[a-z]` a set, `[!abc]` its complement. Everything else,
 * including an unclosed `[`, is literal. Matching is case-sensitive and covers the whole name.
 *
 * No module-level cache: a caller that matches often compiles once and keeps the RegExps (ToolPolicy
 * compiles its lists at construction).
 */

/** Compile a glob to an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    i++;
    if (c === '*') {
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '[') {
      const set = readSet(pattern, i);
      if (set === undefined) {
        source += '\\[';
      } else {
        source += set.source;
        i = set.next;
      }
    } else {
      source += escapeChar(c);
    }
  }
  return new RegExp(`^${source}$`, 's');
}

/** Whether `name` matches the glob `pattern`. */
export function fnmatch(name: string, pattern: string): boolean {
  return globToRegExp(pattern).test(name);
}

/** Whether `name` matches any of the patterns. */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => fnmatch(name, p));
}

/** Parse a `[...]` set starting after the `[`; undefined when it never closes (then `[` is literal). */
function readSet(pattern: string, start: number): { source: string; next: number } | undefined {
  let j = start;
  let negate = false;
  if (pattern[j] === '!') {
    negate = true;
    j++;
  }
  // A `]` right after `[` or `[!` is a member, not the end (as in fnmatch).
  const bodyStart = j;
  if (pattern[j] === ']') j++;
  while (j < pattern.length && pattern[j] !== ']') j++;
  if (j >= pattern.length) return undefined;
  const body = pattern.slice(bodyStart, j);
  let cls = '';
  for (let k = 0; k < body.length; k++) {
    const lo = body[k] as string;
    const hi = body[k + 2];
    if (body[k + 1] === '-' && hi !== undefined) {
      // A reversed range matches nothing (Python drops it) instead of making RegExp throw.
      if (lo <= hi) cls += `${escapeClassChar(lo)}-${escapeClassChar(hi)}`;
      k += 2;
    } else {
      cls += escapeClassChar(lo);
    }
  }
  // An empty class (only reversed ranges) matches nothing; a negated empty one matches any character.
  const source = cls.length === 0 ? (negate ? '.' : '(?!)') : `[${negate ? '^' : ''}${cls}]`;
  return { source, next: j + 1 };
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}

function escapeClassChar(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
