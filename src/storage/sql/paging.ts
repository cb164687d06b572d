import type { PageRequest } from '../types.ts';

/** LIMIT and OFFSET of a page (pages from 1). */
export function limitOffset(page: PageRequest): [number, number] {
  return [page.limit, (page.page - 1) * page.limit];
}

/** The total a page tells by itself: a short page that is not past the end gives offset + rows; else undefined. */
function totalFromPage(rows: number, page: PageRequest): number | undefined {
  const [limit, offset] = limitOffset(page);
  return rows < limit && (rows > 0 || offset === 0) ? offset + rows : undefined;
}

/**
 * The total of a paged query, counting only when the page cannot tell (see totalFromPage), which saves a
 * second scan for most searches. `count` runs the COUNT query (synchronous driver: SQLite).
 */
export function totalOf(rows: number, page: PageRequest, count: () => number): number {
  return totalFromPage(rows, page) ?? count();
}

/** {@link totalOf} for an asynchronous driver (PostgreSQL). */
export async function pageTotal(rows: number, page: PageRequest, count: () => Promise<number>): Promise<number> {
  return totalFromPage(rows, page) ?? count();
}
