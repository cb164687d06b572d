import { randomUUID } from 'node:crypto';
import type { AgentSpec } from '../../config/agent-schema.ts';
import { AGENT_COLUMNS, agentFromRow, agentRecord, agentValues, type AgentRow } from '../rows/agent-row.ts';
import { toolColumnsOf, toolFromRow, type ToolRow } from '../rows/tool-row.ts';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { limitOffset, totalOf } from '../sql/paging.ts';
import { containsPattern } from '../sql/search-pattern.ts';
import { StorageError } from '../storage-error.ts';
import type { AgentRecord, AgentStore, AgentToolRecord, Page, PageRequest } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';

/** Agents (`agents`) and their tool assignments (`agent_tool_assignments`). */
export class SqliteAgentStore implements AgentStore {
  readonly #db: SqliteDb;
  readonly #now: () => number;

  constructor(db: SqliteDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(spec: AgentSpec): Promise<AgentRecord> {
    return this.#db.guard(`agent name ${JSON.stringify(spec.name)}`, () => {
      const id = randomUUID();
      const at = this.#now();
      this.#db.run(
        'INSERT INTO agents (id, name, name_key, search_text, spec, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)',
        id,
        ...agentValues(spec),
        at,
        at,
      );
      return agentRecord(id, spec, firstVersion(at));
    });
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.#db.guard('get agent', () => {
      const row = this.#db.get<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`, id);
      return row === undefined ? undefined : agentFromRow(row);
    });
  }

  async getByName(name: string): Promise<AgentRecord | undefined> {
    return this.#db.guard('get agent', () => {
      const row = this.#db.get<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE name_key = ?`, name.toLowerCase());
      return row === undefined ? undefined : agentFromRow(row);
    });
  }

  async list(query: PageRequest & { readonly search?: string }): Promise<Page<AgentRecord>> {
    return this.#db.guard('list agents', () => {
      const search = query.search !== undefined && query.search !== '';
      const clause = search ? "WHERE search_text LIKE ? ESCAPE '\\'" : '';
      const params = search ? [containsPattern(query.search as string)] : [];
      const rows = this.#db.all<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents ${clause} ORDER BY seq LIMIT ? OFFSET ?`, ...params, ...limitOffset(query));
      const total = totalOf(rows.length, query, () => this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM agents ${clause}`, ...params)?.n ?? 0);
      return { items: rows.map(agentFromRow), total };
    });
  }

  async update(id: string, expectedVersion: number, spec: AgentSpec): Promise<AgentRecord | undefined> {
    return this.#db.guard(`agent name ${JSON.stringify(spec.name)}`, () =>
      this.#db.tx(() => {
        const row = this.#db.get<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`, id);
        if (row === undefined) return undefined;
        const next = nextVersion(`agent ${id}`, row, expectedVersion, this.#now);
        this.#db.run(
          'UPDATE agents SET name = ?, name_key = ?, search_text = ?, spec = ?, version = ?, updated_at = ? WHERE id = ?',
          ...agentValues(spec),
          next.version,
          next.updatedAt,
          id,
        );
        return agentRecord(id, spec, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    // Assignments go with the agent (ON DELETE CASCADE); call records keep the id as history.
    return this.#db.guard('delete agent', () => this.#db.run('DELETE FROM agents WHERE id = ?', id).changes > 0);
  }

  async assignTools(agentId: string, toolIds: readonly string[]): Promise<void> {
    this.#db.guard('assign tools', () =>
      this.#db.tx(() => {
        if (this.#db.get('SELECT 1 AS x FROM agents WHERE id = ?', agentId) === undefined) {
          throw new StorageError('not_found', `agent ${agentId} does not exist`, { missing: [agentId] });
        }
        const unique = [...new Set(toolIds)];
        const missing = unique.filter((t) => this.#db.get('SELECT 1 AS x FROM agent_tools WHERE id = ?', t) === undefined);
        if (missing.length > 0) throw new StorageError('not_found', `${missing.length} tool(s) do not exist`, { missing });
        for (const toolId of unique) {
          this.#db.run('INSERT INTO agent_tool_assignments (agent_id, tool_id) VALUES (?, ?) ON CONFLICT (agent_id, tool_id) DO NOTHING', agentId, toolId);
        }
      }),
    );
  }

  async unassignTool(agentId: string, toolId: string): Promise<boolean> {
    return this.#db.guard('unassign tool', () => this.#db.run('DELETE FROM agent_tool_assignments WHERE agent_id = ? AND tool_id = ?', agentId, toolId).changes > 0);
  }

  async listTools(agentId: string): Promise<readonly AgentToolRecord[]> {
    return this.#db.guard('list agent tools', () => {
      return this.#db
        .all<ToolRow>(`SELECT ${toolColumnsOf('t')} FROM agent_tool_assignments a JOIN agent_tools t ON t.id = a.tool_id WHERE a.agent_id = ? ORDER BY a.seq`, agentId)
        .map(toolFromRow);
    });
  }
}
