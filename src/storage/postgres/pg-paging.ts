import { limitOffset } from '../sqlite/sql-helpers.ts';
import type { PageRequest } from '../types.ts';

/**
 * The total of a paged query, counting only when the page cannot tell (the async twin of SQLite's
 * `totalOf`): a short page that is not past the end gives it for free, which saves a second scan.
 */
export async function pageTotal(rows: number, page: PageRequest, count: () => Promise<number>): Promise<number> {
  const [limit, offset] = limitOffset(page);
  if (rows < limit && (rows > 0 || offset === 0)) return offset + rows;
  return count();
}
