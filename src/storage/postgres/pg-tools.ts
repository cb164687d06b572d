import { randomUUID } from 'node:crypto';
import { StorageError } from '../storage-error.ts';
import type { AgentToolDefinition, AgentToolRecord, AgentToolStore, NewAgentTool, Page, PageRequest } from '../types.ts';
import { containsPattern, limitOffset, parseJson, searchText } from '../sqlite/sql-helpers.ts';
import { FOREIGN_KEY_VIOLATION, isSqlState, type PgDb } from './pg-db.ts';
import { pageTotal } from './pg-paging.ts';

export interface ToolRow {
  id: string;
  name: string;
  type: 'http' | 'client';
  definition: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export const TOOL_COLUMNS = 'id, name, type, definition, version, created_at, updated_at';

export function toolFromRow(row: ToolRow): AgentToolRecord {
  const base = { id: row.id, name: row.name, version: row.version, createdAt: row.created_at, updatedAt: row.updated_at };
  return { ...base, ...({ type: row.type, definition: parseJson(row.definition) } as AgentToolDefinition) };
}

function searchable(tool: NewAgentTool): string {
  return searchText(tool.name, tool.tool.definition.name, tool.tool.definition.description);
}

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
        'INSERT INTO agent_tools (id, name, name_key, type, model_name, search_text, definition, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)',
        [id, tool.name, tool.name.toLowerCase(), tool.tool.type, tool.tool.definition.name, searchable(tool), JSON.stringify(tool.tool.definition), at],
      );
      return { id, name: tool.name, version: 1, createdAt: at, updatedAt: at, ...tool.tool };
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
        if (row.version !== expectedVersion) throw new StorageError('conflict', `tool ${id} changed since it was read`);
        if (row.type !== tool.tool.type) throw new StorageError('conflict', `tool ${id} is a ${row.type} tool; its type cannot change`);
        const at = Math.max(this.#now(), row.updated_at);
        await q.run('UPDATE agent_tools SET name = $1, name_key = $2, model_name = $3, search_text = $4, definition = $5, version = $6, updated_at = $7 WHERE id = $8', [
          tool.name,
          tool.name.toLowerCase(),
          tool.tool.definition.name,
          searchable(tool),
          JSON.stringify(tool.tool.definition),
          row.version + 1,
          at,
          id,
        ]);
        return { id, name: tool.name, version: row.version + 1, createdAt: row.created_at, updatedAt: at, ...tool.tool };
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
