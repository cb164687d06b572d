import { randomUUID } from 'node:crypto';
import type { AgentSpec } from '../../config/agent-schema.ts';
import { AGENT_COLUMNS, agentFromRow, agentRecord, agentValues, type AgentRow } from '../rows/agent-row.ts';
import { toolColumnsOf, toolFromRow, type ToolRow } from '../rows/tool-row.ts';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { limitOffset, pageTotal } from '../sql/paging.ts';
import { containsPattern } from '../sql/search-pattern.ts';
import { StorageError } from '../storage-error.ts';
import type { AgentRecord, AgentStore, AgentToolRecord, Page, PageRequest } from '../types.ts';
import type { PgDb } from './pg-db.ts';

/** Agents (`agents`) and their tool assignments (`agent_tool_assignments`). */
export class PgAgentStore implements AgentStore {
  readonly #db: PgDb;
  readonly #now: () => number;

  constructor(db: PgDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(spec: AgentSpec): Promise<AgentRecord> {
    return this.#db.guard(`agent name ${JSON.stringify(spec.name)}`, async () => {
      const id = randomUUID();
      const at = this.#now();
      await this.#db.run(
        'INSERT INTO agents (id, name, name_key, search_text, spec, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)',
        [id, ...agentValues(spec), at],
      );
      return agentRecord(id, spec, firstVersion(at));
    });
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return this.#db.guard('get agent', async () => {
      const row = await this.#db.row<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`, [id]);
      return row === undefined ? undefined : agentFromRow(row);
    });
  }

  async getByName(name: string): Promise<AgentRecord | undefined> {
    return this.#db.guard('get agent', async () => {
      const row = await this.#db.row<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE name_key = $1`, [name.toLowerCase()]);
      return row === undefined ? undefined : agentFromRow(row);
    });
  }

  async list(query: PageRequest & { readonly search?: string }): Promise<Page<AgentRecord>> {
    return this.#db.guard('list agents', async () => {
      const search = query.search !== undefined && query.search !== '';
      const clause = search ? "WHERE search_text LIKE $1 ESCAPE '\\'" : '';
      const params = search ? [containsPattern(query.search as string)] : [];
      const [limit, offset] = limitOffset(query);
      const n = params.length;
      const rows = await this.#db.rows<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents ${clause} ORDER BY seq LIMIT $${n + 1} OFFSET $${n + 2}`, [...params, limit, offset]);
      const total = await pageTotal(rows.length, query, async () => (await this.#db.row<{ n: number }>(`SELECT COUNT(*) AS n FROM agents ${clause}`, params))?.n ?? 0);
      return { items: rows.map(agentFromRow), total };
    });
  }

  async update(id: string, expectedVersion: number, spec: AgentSpec): Promise<AgentRecord | undefined> {
    return this.#db.guard(`agent name ${JSON.stringify(spec.name)}`, () =>
      this.#db.tx(async (q) => {
        const row = await q.row<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1 FOR UPDATE`, [id]);
        if (row === undefined) return undefined;
        const next = nextVersion(`agent ${id}`, row, expectedVersion, this.#now);
        await q.run('UPDATE agents SET name = $1, name_key = $2, search_text = $3, spec = $4, version = $5, updated_at = $6 WHERE id = $7', [
          ...agentValues(spec),
          next.version,
          next.updatedAt,
          id,
        ]);
        return agentRecord(id, spec, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    // Assignments go with the agent (ON DELETE CASCADE); call records keep the id as history.
    return this.#db.guard('delete agent', async () => (await this.#db.run('DELETE FROM agents WHERE id = $1', [id])) > 0);
  }

  async assignTools(agentId: string, toolIds: readonly string[]): Promise<void> {
    await this.#db.guard('assign tools', () =>
      this.#db.tx(async (q) => {
        // FOR SHARE: the agent cannot be deleted under the assignment being written.
        if ((await q.row('SELECT 1 AS x FROM agents WHERE id = $1 FOR SHARE', [agentId])) === undefined) {
          throw new StorageError('not_found', `agent ${agentId} does not exist`, { missing: [agentId] });
        }
        const unique = [...new Set(toolIds)];
        const found = new Set((await q.rows<{ id: string }>('SELECT id FROM agent_tools WHERE id = ANY($1::text[]) FOR SHARE', [unique])).map((r) => r.id));
        const missing = unique.filter((t) => !found.has(t));
        if (missing.length > 0) throw new StorageError('not_found', `${missing.length} tool(s) do not exist`, { missing });
        for (const toolId of unique) {
          await q.run('INSERT INTO agent_tool_assignments (agent_id, tool_id) VALUES ($1, $2) ON CONFLICT (agent_id, tool_id) DO NOTHING', [agentId, toolId]);
        }
      }),
    );
  }

  async unassignTool(agentId: string, toolId: string): Promise<boolean> {
    return this.#db.guard('unassign tool', async () => (await this.#db.run('DELETE FROM agent_tool_assignments WHERE agent_id = $1 AND tool_id = $2', [agentId, toolId])) > 0);
  }

  async listTools(agentId: string): Promise<readonly AgentToolRecord[]> {
    return this.#db.guard('list agent tools', async () => {
      const rows = await this.#db.rows<ToolRow>(`SELECT ${toolColumnsOf('t')} FROM agent_tool_assignments a JOIN agent_tools t ON t.id = a.tool_id WHERE a.agent_id = $1 ORDER BY a.seq`, [agentId]);
      return rows.map(toolFromRow);
    });
  }
}
