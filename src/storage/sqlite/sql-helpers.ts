import type { PageRequest } from '../types.ts';

/**
 * A case-insensitive substring pattern for `LIKE ? ESCAPE '\'` against a column lowered in JavaScript
 * (SQLite's lower() only folds ASCII): `%` and `_` in the search are literal.
 */
export function containsPattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * An FTS5 trigram phrase matching `search` as a substring of the lowered text; undefined when the search is
 * shorter than a trigram (three characters), which the index cannot answer: use {@link containsPattern}.
 */
export function trigramPhrase(search: string): string | undefined {
  const lowered = search.toLowerCase();
  if ([...lowered].length < 3) return undefined;
  return `"${lowered.replaceAll('"', '""')}"`;
}

/** Text that search patterns run against: the fields joined, lowered. */
export function searchText(...fields: readonly string[]): string {
  return fields.join('\n').toLowerCase();
}

/** LIMIT and OFFSET of a page (pages from 1). */
export function limitOffset(page: PageRequest): [number, number] {
  return [page.limit, (page.page - 1) * page.limit];
}

/**
 * The total of a paged query, counting only when the page cannot tell: a short page that is not past the
 * end gives it for free (offset + rows), which saves a second scan for most searches.
 */
export function totalOf(rows: number, page: PageRequest, count: () => number): number {
  const [limit, offset] = limitOffset(page);
  if (rows < limit && (rows > 0 || offset === 0)) return offset + rows;
  return count();
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
