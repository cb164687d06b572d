import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../../src/storage/open-storage.ts';
import { migrate, MIGRATIONS } from '../../../src/storage/sqlite/migrations.ts';
import { SqliteDb } from '../../../src/storage/sqlite/sqlite-db.ts';
import { SQLITE_FILE, SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.ts';
import { SqliteCallStore } from '../../../src/storage/sqlite/sqlite-calls.ts';
import { SqliteToolStore } from '../../../src/storage/sqlite/sqlite-tools.ts';
import { agent, httpTool, storageContract } from '../../support/storage-contract.ts';

storageContract('sqlite (temp directory)', {
  persistent: true,
  harness: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-storage-'));
    return {
      open: async (nodeId) => openStorage({ driver: 'sqlite', dataDir: join(dir, 'data') }, { nodeId: nodeId ?? 'node-1' }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

storageContract('sqlite (in memory)', {
  persistent: false,
  harness: async () => ({ open: async (nodeId) => new SqliteStorage({ dataDir: ':memory:', ...(nodeId === undefined ? {} : { nodeId }) }), cleanup: async () => undefined }),
});

describe('SqliteStorage', () => {
  it('records each migration once in schema_migrations and creates the data directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-storage-'));
    try {
      const dataDir = join(dir, 'nested', 'data');
      const s1 = new SqliteStorage({ dataDir });
      expect(s1.schemaVersion).toBe(MIGRATIONS.at(-1)?.version);
      await s1.close();
      const s2 = new SqliteStorage({ dataDir });
      await s2.close();
      const db = new DatabaseSync(join(dataDir, SQLITE_FILE));
      const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
      db.close();
      expect(rows.map((r) => r['version'])).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database written by a newer build, and one that is not a database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'callroom-storage-'));
    try {
      const newer = join(dir, 'newer');
      await new SqliteStorage({ dataDir: newer }).close();
      const db = new DatabaseSync(join(newer, SQLITE_FILE));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(999, 'future', 0);
      db.close();
      expect(() => new SqliteStorage({ dataDir: newer })).toThrow(/schema version 999/);

      const junk = join(dir, 'junk');
      await new SqliteStorage({ dataDir: junk }).close();
      for (const f of await readdir(junk)) await rm(join(junk, f));
      await writeFile(join(junk, SQLITE_FILE), 'this is not a database file, just text '.repeat(100));
      expect(() => new SqliteStorage({ dataDir: junk })).toThrow(expect.objectContaining({ code: 'CR_STORAGE_FAILED' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a failing migration leaves no half-applied schema', () => {
    const db = new SqliteDb(':memory:');
    try {
      const last = MIGRATIONS.at(-1)?.version ?? 0;
      const bad = [...MIGRATIONS, { version: last + 1, name: 'broken', sql: 'CREATE TABLE half (x TEXT); THIS IS NOT SQL;' }];
      expect(() => migrate(db, bad)).toThrow(expect.objectContaining({ code: 'CR_STORAGE_FAILED' }));
      expect(db.get<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half'")?.n).toBe(0);
      expect(db.get<{ v: number }>('SELECT MAX(version) AS v FROM schema_migrations')?.v).toBe(last);
    } finally {
      db.close();
    }
  });

  it('migrating a version 1 database indexes the tools it already holds for search', async () => {
    const db = new SqliteDb(':memory:');
    try {
      migrate(db, MIGRATIONS.slice(0, 1));
      const tools = new SqliteToolStore(db, () => 1);
      await tools.create(httpTool('before-upgrade', { description: 'Stored under schema one' }));
      expect(migrate(db)).toBe(MIGRATIONS.at(-1)?.version);
      expect((await tools.list({ page: 1, limit: 10, search: 'schema one' })).items.map((t) => t.name)).toEqual(['before-upgrade']);
    } finally {
      db.close();
    }
  });

  it('migrating a version 2 database keeps its call records, which name no node', async () => {
    const db = new SqliteDb(':memory:');
    try {
      migrate(db, MIGRATIONS.slice(0, 2));
      db.run("INSERT INTO calls (id, agent_name, medium, state, metadata, created_at) VALUES ('old', 'a', '{\"type\":\"websocket\",\"inputSampleRate\":8000,\"outputSampleRate\":8000}', 'active', '{}', 5)");
      expect(migrate(db)).toBe(MIGRATIONS.at(-1)?.version);
      const calls = new SqliteCallStore(db, 'node-9');
      expect(await calls.get('old')).toMatchObject({ id: 'old', state: 'active', nodeId: null });
      await calls.create({ id: 'new', agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, createdAt: 6 });
      expect((await calls.get('new'))?.nodeId).toBe('node-9');
    } finally {
      db.close();
    }
  });

  it('a write the database refuses is an error to the caller, never lost silently', async () => {
    const storage = new SqliteStorage({ dataDir: ':memory:' });
    try {
      // A constraint the API never trips (a CHECK on the call state) stands for a disk that refuses the write.
      await storage.calls.create({ id: 'c', agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 }, createdAt: 1 });
      await expect(storage.calls.appendTranscript('c', { role: 'robot' as 'user', text: 'x', atMs: 1 })).rejects.toMatchObject({ code: 'CR_STORAGE_FAILED' });
      await expect(storage.agents.create(agent({ name: 'ok' }))).resolves.toMatchObject({ name: 'ok' });
    } finally {
      await storage.close();
    }
  });
});
