import { randomUUID } from 'node:crypto';
import { TOOL_COLUMNS, toolFromRow, toolRecord, toolValues, type ToolRow } from '../rows/tool-row.ts';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { limitOffset, totalOf } from '../sql/paging.ts';
import { containsPattern } from '../sql/search-pattern.ts';
import { StorageError } from '../storage-error.ts';
import type { AgentToolRecord, AgentToolStore, NewAgentTool, Page, PageRequest } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { trigramPhrase } from './trigram-phrase.ts';

/** API-managed tools (`agent_tools`). */
export class SqliteToolStore implements AgentToolStore {
  readonly #db: SqliteDb;
  readonly #now: () => number;

  constructor(db: SqliteDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(tool: NewAgentTool): Promise<AgentToolRecord> {
    return this.#db.guard(`tool name ${JSON.stringify(tool.name)}`, () => {
      const id = randomUUID();
      const at = this.#now();
      this.#db.run(
        'INSERT INTO agent_tools (id, type, name, name_key, model_name, search_text, definition, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)',
        id,
        tool.tool.type,
        ...toolValues(tool),
        at,
        at,
      );
      return toolRecord(id, tool, firstVersion(at));
    });
  }

  async get(id: string): Promise<AgentToolRecord | undefined> {
    return this.#db.guard('get tool', () => {
      const row = this.#db.get<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools WHERE id = ?`, id);
      return row === undefined ? undefined : toolFromRow(row);
    });
  }

  async list(query: PageRequest & { readonly search?: string; readonly type?: 'http' | 'client' }): Promise<Page<AgentToolRecord>> {
    return this.#db.guard('list tools', () => {
      const where: string[] = [];
      const params: string[] = [];
      if (query.type !== undefined) {
        where.push('type = ?');
        params.push(query.type);
      }
      if (query.search !== undefined && query.search !== '') {
        const phrase = trigramPhrase(query.search);
        if (phrase === undefined) {
          where.push("search_text LIKE ? ESCAPE '\\'");
          params.push(containsPattern(query.search));
        } else {
          where.push('seq IN (SELECT rowid FROM agent_tools_search WHERE agent_tools_search MATCH ?)');
          params.push(phrase);
        }
      }
      const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
      const count = (): number => this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM agent_tools ${clause}`, ...params)?.n ?? 0;
      if (query.search === undefined || query.search === '') {
        // Unfiltered or by type: the page stops after `limit` rows, the count walks an index.
        const rows = this.#db.all<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools ${clause} ORDER BY seq LIMIT ? OFFSET ?`, ...params, ...limitOffset(query));
        return { items: rows.map(toolFromRow), total: totalOf(rows.length, query, count) };
      }
      // A search runs once: the window count rides along with the page.
      const rows = this.#db.all<ToolRow & { total_rows: number }>(
        `SELECT ${TOOL_COLUMNS}, COUNT(*) OVER () AS total_rows FROM agent_tools ${clause} ORDER BY seq LIMIT ? OFFSET ?`,
        ...params,
        ...limitOffset(query),
      );
      return { items: rows.map(toolFromRow), total: rows[0]?.total_rows ?? totalOf(0, query, count) };
    });
  }

  async update(id: string, expectedVersion: number, tool: NewAgentTool): Promise<AgentToolRecord | undefined> {
    return this.#db.guard(`tool name ${JSON.stringify(tool.name)}`, () =>
      this.#db.tx(() => {
        const row = this.#db.get<ToolRow>(`SELECT ${TOOL_COLUMNS} FROM agent_tools WHERE id = ?`, id);
        if (row === undefined) return undefined;
        const next = nextVersion(`tool ${id}`, row, expectedVersion, this.#now);
        if (row.type !== tool.tool.type) throw new StorageError('conflict', `tool ${id} is a ${row.type} tool; its type cannot change`);
        this.#db.run(
          'UPDATE agent_tools SET name = ?, name_key = ?, model_name = ?, search_text = ?, definition = ?, version = ?, updated_at = ? WHERE id = ?',
          ...toolValues(tool),
          next.version,
          next.updatedAt,
          id,
        );
        return toolRecord(id, tool, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete tool', () =>
      this.#db.tx(() => {
        const used = this.#db.get<{ n: number }>('SELECT COUNT(*) AS n FROM agent_tool_assignments WHERE tool_id = ?', id)?.n ?? 0;
        if (used > 0) throw new StorageError('in_use', `tool ${id} is assigned to ${used} agent(s)`);
        return this.#db.run('DELETE FROM agent_tools WHERE id = ?', id).changes > 0;
      }),
    );
  }

  async assignedTo(id: string): Promise<readonly string[]> {
    return this.#db.guard('tool assignments', () =>
      this.#db.all<{ agent_id: string }>('SELECT agent_id FROM agent_tool_assignments WHERE tool_id = ? ORDER BY seq', id).map((r) => r.agent_id),
    );
  }
}
