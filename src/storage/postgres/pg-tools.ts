import { randomUUID } from 'node:crypto';
import { TOOL_COLUMNS, toolFromRow, toolRecord, toolValues, type ToolRow } from '../rows/tool-row.ts';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { limitOffset, pageTotal } from '../sql/paging.ts';
import { containsPattern } from '../sql/search-pattern.ts';
import { StorageError } from '../storage-error.ts';
import type { AgentToolRecord, AgentToolStore, NewAgentTool, Page, PageRequest } from '../types.ts';
import { FOREIGN_KEY_VIOLATION, isSqlState, type PgDb } from './pg-db.ts';

/**
 * API-managed tools (`agent_tools`). A search is `search_text LIKE '%term%'` on text lowered in JavaScript
 * (the same folding as SQLite); migration 2's pg_trgm GIN index answers it for terms of three characters
 * or more, and without the extension it is a scan.
 */
export class PgToolStore implements AgentToolStore {
  readonly #db: PgDb;
  readonly #now: () => number;

  constructor(db: PgDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(tool: NewAgentTool): Promise<AgentToolRecord> {
    return this.#db.guard(`tool name ${JSON.stringify(tool.name)}`, async () => {
      const id = randomUUID();
      const at = this.#now();
      await this.#db.run(
        'INSERT INTO agent_tools (id, type, name, name_key, model_name, search_text, definition, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)',
        [id, tool.tool.type, ...toolValues(tool), at],
      );
      return toolRecord(id, tool, firstVersion(at));
    });
  }

  async get(id: string): Promise<AgentToolRecord | undefined> {
    return this.#db.guard('get tool', async () => {
      const row = await this.#db.row<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools WHERE id = $1`, [id]);
      return row === undefined ? undefined : toolFromRow(row);
    });
  }

  async list(query: PageRequest & { readonly search?: string; readonly type?: 'http' | 'client' }): Promise<Page<AgentToolRecord>> {
    return this.#db.guard('list tools', async () => {
      const where: string[] = [];
      const params: string[] = [];
      if (query.type !== undefined) {
        params.push(query.type);
        where.push(`type = $${params.length}`);
      }
      const search = query.search !== undefined && query.search !== '';
      if (search) {
        params.push(containsPattern(query.search as string));
        where.push(`search_text LIKE $${params.length} ESCAPE '\\'`);
      }
      const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
      const [limit, offset] = limitOffset(query);
      const page = `LIMIT $${params.length + 1} OFFSET $${params.length + 2}`;
      const count = async (): Promise<number> => (await this.#db.row<{ n: number }>(`SELECT COUNT(*) AS n FROM agent_tools ${clause}`, params))?.n ?? 0;
      if (!search) {
        const rows = await this.#db.rows<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools ${clause} ORDER BY seq ${page}`, [...params, limit, offset]);
        return { items: rows.map(toolFromRow), total: await pageTotal(rows.length, query, count) };
      }
      // A search runs once: the window count rides along with the page.
      const rows = await this.#db.rows<ToolRow & { total_rows: number }>(
        `SELECT ${TOOL_COLUMNS}, COUNT(*) OVER () AS total_rows FROM agent_tools ${clause} ORDER BY seq ${page}`,
        [...params, limit, offset],
      );
      return { items: rows.map(toolFromRow), total: rows[0]?.total_rows ?? (await pageTotal(0, query, count)) };
    });
  }

  async update(id: string, expectedVersion: number, tool: NewAgentTool): Promise<AgentToolRecord | undefined> {
    return this.#db.guard(`tool name ${JSON.stringify(tool.name)}`, () =>
      this.#db.tx(async (q) => {
        const row = await q.row<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools WHERE id = $1 FOR UPDATE`, [id]);
        if (row === undefined) return undefined;
        const next = nextVersion(`tool ${id}`, row, expectedVersion, this.#now);
        if (row.type !== tool.tool.type) throw new StorageError('conflict', `tool ${id} is a ${row.type} tool; its type cannot change`);
        await q.run('UPDATE agent_tools SET name = $1, name_key = $2, model_name = $3, search_text = $4, definition = $5, version = $6, updated_at = $7 WHERE id = $8', [
          ...toolValues(tool),
          next.version,
          next.updatedAt,
          id,
        ]);
        return toolRecord(id, tool, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete tool', async () => {
      try {
        return await this.#db.tx(async (q) => {
          const used = (await q.row<{ n: number }>('SELECT COUNT(*) AS n FROM agent_tool_assignments WHERE tool_id = $1', [id]))?.n ?? 0;
          if (used > 0) throw new StorageError('in_use', `tool ${id} is assigned to ${used} agent(s)`);
          return (await q.run('DELETE FROM agent_tools WHERE id = $1', [id])) > 0;
        });
      } catch (err) {
        // An assignment committed between the count and the delete: ON DELETE RESTRICT refuses it.
        if (isSqlState(err, FOREIGN_KEY_VIOLATION)) throw new StorageError('in_use', `tool ${id} is assigned to an agent`, { cause: err });
        throw err;
      }
    });
  }

  async assignedTo(id: string): Promise<readonly string[]> {
    return this.#db.guard('tool assignments', async () =>
      (await this.#db.rows<{ agent_id: string }>('SELECT agent_id FROM agent_tool_assignments WHERE tool_id = $1 ORDER BY seq', [id])).map((r) => r.agent_id),
    );
  }
}
