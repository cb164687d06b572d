/**
 * An FTS5 trigram phrase matching `search` as a substring of the lowered text (migration 2's
 * `agent_tools_search`); undefined when the search is shorter than a trigram (three characters), which the
 * index cannot answer: use containsPattern (src/storage/sql/search-pattern.ts) with LIKE.
 */
export function trigramPhrase(search: string): string | undefined {
  const lowered = search.toLowerCase();
  if ([...lowered].length < 3) return undefined;
  return `"${lowered.replaceAll('"', '""')}"`;
}
