/**
 * The PostgreSQL storage against a real server started for this file (test/support/postgres.ts): the
 * shared storage contract on a schema per test, then what only a networked, shared database has —
 * migrations taken in turn by nodes starting together, the trigram index the tool search uses, a refused
 * newer schema, an unreachable server, a server restart under a live pool, and single-use tokens across
 * nodes racing for them.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../../src/storage/open-storage.ts';
import { migratePg, PG_MIGRATIONS } from '../../../src/storage/postgres/migrations.ts';
import { PgDb } from '../../../src/storage/postgres/pg-db.ts';
import { openPostgresStorage, pgConnectionConfig, PostgresStorage } from '../../../src/storage/postgres/postgres-storage.ts';
import type { Storage } from '../../../src/storage/types.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { liveProcesses } from '../../support/sip-peers/managed-process.ts';
import { agent, httpTool, storageContract } from '../../support/storage-contract.ts';

let pg: PostgresServer;

beforeAll(async () => {
  pg = await startPostgres();
});

afterAll(async () => {
  await pg.stop();
  expect(liveProcesses()).toHaveLength(0);
});

function schemaName(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

function open(schema: string, nodeId = 'node-1'): Promise<PostgresStorage> {
  return openPostgresStorage({ url: pg.url, password: pg.password, schema, nodeId });
}

async function dropSchema(schema: string): Promise<void> {
  await pg.sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

storageContract('postgres (a schema per test)', {
  persistent: true,
  harness: async () => {
    const schema = schemaName();
    return {
      open: (nodeId) => open(schema, nodeId),
      cleanup: () => dropSchema(schema),
    };
  },
});

describe('PostgresStorage', () => {
  it('opens through openStorage from the config shape, with the password given apart from the URL', async () => {
    const schema = schemaName();
    const s = await openStorage({ driver: 'postgres', url: pg.url, password: pg.password, schema, poolSize: 2 }, { nodeId: 'cfg-node' });
    try {
      expect(s).toBeInstanceOf(PostgresStorage);
      await s.calls.create({ id: 'c', agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, createdAt: 1 });
      expect((await s.calls.get('c'))?.nodeId).toBe('cfg-node');
    } finally {
      await s.close();
      await dropSchema(schema);
    }
  });

  it('nodes starting together on an empty schema migrate it exactly once', async () => {
    const schema = schemaName();
    const nodes = await Promise.all(['n1', 'n2', 'n3', 'n4'].map((id) => open(schema, id)));
    try {
      for (const n of nodes) expect(n.schemaVersion).toBe(PG_MIGRATIONS.at(-1)?.version);
      const rows = await pg.sql(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      expect(rows.map((r) => Number(r['version']))).toEqual(PG_MIGRATIONS.map((m) => m.version));
      // Every node sees what another wrote.
      const created = await nodes[0]!.agents.create(agent({ name: 'shared' }));
      expect(await nodes[3]!.agents.getByName('SHARED')).toEqual(created);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await dropSchema(schema);
    }
  });

  it('tool search uses the pg_trgm index for terms of three characters or more', async () => {
    const schema = schemaName();
    const s = await open(schema);
    try {
      for (let i = 0; i < 50; i++) await s.tools.create(httpTool(`tool-${i}`, { description: `Looks up thing number ${i}` }));
      expect((await pg.sql("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")).length).toBe(1);
      const indexes = await pg.sql('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [schema, 'agent_tools']);
      expect(indexes.map((r) => r['indexname'])).toContain('agent_tools_search_trgm');
      // The planner may prefer a scan of 50 rows; with scans off it must be able to use the index.
      const plan = await pg.sql(
        `BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL search_path = ${schema};
         EXPLAIN SELECT id FROM agent_tools WHERE search_text LIKE '%number 4%' ESCAPE '\\'; COMMIT;`,
      );
      expect(JSON.stringify(plan)).toMatch(/agent_tools_search_trgm/);
      const found = await s.tools.list({ page: 1, limit: 100, search: 'NUMBER 4' });
      expect(found.items.map((t) => t.name).sort()).toEqual(['tool-4', 'tool-40', 'tool-41', 'tool-42', 'tool-43', 'tool-44', 'tool-45', 'tool-46', 'tool-47', 'tool-48', 'tool-49']);
      expect(found.total).toBe(11);
    } finally {
      await s.close();
      await dropSchema(schema);
    }
  });

  it('refuses a schema written by a newer build, and a failing migration leaves nothing half-applied', async () => {
    const schema = schemaName();
    try {
      await (await open(schema)).close();
      await pg.sql(`INSERT INTO "${schema}".schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`);
      await expect(open(schema)).rejects.toMatchObject({ code: 'CR_STORAGE_FAILED', message: expect.stringMatching(/schema version 999/) });
      await pg.sql(`DELETE FROM "${schema}".schema_migrations WHERE version = 999`);

      const last = PG_MIGRATIONS.at(-1)?.version ?? 0;
      const bad = [...PG_MIGRATIONS, { version: last + 1, name: 'broken', sql: 'CREATE TABLE half (x TEXT); THIS IS NOT SQL;' }];
      const db = new PgDb(pgConnectionConfig({ url: pg.url, password: pg.password, schema }, 2));
      try {
        await expect(migratePg(db, schema, bad)).rejects.toMatchObject({ code: 'CR_STORAGE_FAILED' });
      } finally {
        await db.close();
      }
      expect(await pg.sql('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [schema, 'half'])).toEqual([]);
      expect((await pg.sql(`SELECT MAX(version) AS v FROM "${schema}".schema_migrations`))[0]?.['v']).toBe(String(last));
    } finally {
      await dropSchema(schema);
    }
  });

  it('an unreachable server fails the open with CR_STORAGE_FAILED, promptly', async () => {
    const started = Date.now();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    await expect(openPostgresStorage({ url: 'postgres://callroom@127.0.0.1:1/postgres', nodeId: 'n' })).rejects.toMatchObject({ code: 'CR_STORAGE_FAILED' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a wrong password is CR_STORAGE_FAILED, and the message does not carry the password', async () => {
    const err = await openPostgresStorage({ url: pg.url, password: 'not-the-password-123', nodeId: 'n', schema: schemaName() }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CR_STORAGE_FAILED' });
    expect(String((err as Error).message)).not.toContain('not-the-password-123');
  });

  it('join tokens are single use across nodes racing for them', async () => {
    const schema = schemaName();
    const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => open(schema, id)));
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => nodes[i % 3]!.joinTokens.consume(`jti-${Math.floor(i / 3)}`, 2_000_000_000)),
      );
      // Ten ids, each tried by all three nodes at once: exactly one of the three wins each.
      expect(results.filter(Boolean)).toHaveLength(10);
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
      await dropSchema(schema);
    }
  });

  it('heartbeats are not queued behind record writes that fill the pool', async () => {
    const schema = schemaName();
    const s = await openPostgresStorage({ url: pg.url, password: pg.password, schema, nodeId: 'busy', poolSize: 2 });
    const blocker = new Client({ connectionString: pg.urlWithPassword });
    await blocker.connect();
    try {
      await s.nodes.register({ publicUrl: null, at: 1, staleBefore: 0, endReason: 'node-lost' });
      // Another session holds the calls table: every record write waits, and they take the whole pool.
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${schema}".calls IN ACCESS EXCLUSIVE MODE`);
      const writes = Array.from({ length: 6 }, (_, i) =>
        s.calls.create({ id: `w${i}`, agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, createdAt: 1 }).then(
          () => 'written',
          (err: unknown) => String(err),
        ),
      );
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      expect(await s.nodes.heartbeat(2)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      await blocker.query('COMMIT');
      expect(await Promise.all(writes)).toEqual(Array.from({ length: 6 }, () => 'written'));
    } finally {
      await blocker.end();
      await s.close();
      await dropSchema(schema);
    }
  });

  it('a server restart under an open pool: writes fail while it is down, then succeed without reopening', async () => {
    const schema = schemaName();
    const s: Storage = await open(schema);
    try {
      await s.calls.create({ id: 'before', agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, createdAt: 1 });
      await pg.halt();
      await expect(s.calls.markAnswered('before', 2)).rejects.toMatchObject({ code: 'CR_STORAGE_FAILED', retryable: true });
      await pg.restart();
      await s.calls.markAnswered('before', 3);
      expect(await s.calls.get('before')).toMatchObject({ state: 'active', answeredAt: 3 });
    } finally {
      await s.close();
      await dropSchema(schema);
    }
  });
});
