import type { PageRequest } from '../types.ts';

/**
 * A case-insensitive substring pattern for `LIKE ? ESCAPE '\'` against a column lowered in JavaScript
 * (SQLite's lower() only folds ASCII): `%` and `_` in the search are literal.
 */
export function containsPattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Text that search patterns run against: the fields joined, lowered. */
export function searchText(...fields: readonly string[]): string {
  return fields.join('\n').toLowerCase();
}

/** LIMIT and OFFSET of a page (pages from 1). */
export function limitOffset(page: PageRequest): [number, number] {
  return [page.limit, (page.page - 1) * page.limit];
}

export function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}
