/**
 * Substring search in either dialect: the searched text is stored lowered in JavaScript (SQLite's lower()
 * only folds ASCII, so neither database lowers it), and the pattern runs as `LIKE <pattern> ESCAPE '\'`.
 */

/** Text that search patterns run against: the fields joined, lowered. */
export function searchText(...fields: readonly string[]): string {
  return fields.join('\n').toLowerCase();
}

/** A case-insensitive substring pattern for `LIKE ... ESCAPE '\'` against {@link searchText}: `%` and `_` in the search are literal. */
export function containsPattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
