/**
 * A node's membership over real storage (a shared SQLite file: the registry semantics are the storage
 * contract's, so this holds for PostgreSQL too) with short timings: a crashed run's id is taken over once
 * its heartbeat is stale and its open records are ended; a live duplicate is refused; the calls of a node
 * that goes silent are ended by the others, which are told who is lost; a clean stop marks the node down.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.ts';
import { ClusterNode } from '../../../src/wiring/cluster-node.ts';

const HEARTBEAT_MS = 100;
const TIMEOUT_MS = 600;
const WS = { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } as const;

let dir: string;
const open: SqliteStorage[] = [];
const nodes: ClusterNode[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-cluster-node-'));
});

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const s of open.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

function storage(nodeId: string): SqliteStorage {
  const s = new SqliteStorage({ dataDir: dir, nodeId });
  open.push(s);
  return s;
}

async function joinNode(nodeId: string, onBeat?: (lost: ReadonlySet<string>) => Promise<void>): Promise<ClusterNode> {
  const n = await ClusterNode.join({ storage: storage(nodeId), publicUrl: `http://${nodeId}`, heartbeatMs: HEARTBEAT_MS, nodeTimeoutMs: TIMEOUT_MS, logger: silentLogger(), ...(onBeat === undefined ? {} : { onBeat }) });
  nodes.push(n);
  return n;
}

describe('cluster node membership', () => {
  it('takes over the id of a run that crashed, once its heartbeat is stale, and ends the records it left open', async () => {
    const crashed = storage('node-1');
    await crashed.nodes.register({ publicUrl: null, at: Date.now(), staleBefore: 0, endReason: 'node-lost' });
    await crashed.calls.create({ id: 'left-open', agentId: null, agentName: 'a', medium: WS, createdAt: Date.now() });
    // The crashed run never beats again.
    const started = Date.now();
    await joinNode('node-1');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(TIMEOUT_MS - HEARTBEAT_MS);
    expect(waited).toBeLessThan(TIMEOUT_MS + 4 * HEARTBEAT_MS);
    expect(await crashed.calls.get('left-open')).toMatchObject({ state: 'ended', endReason: 'node-lost' });
    expect(await crashed.nodes.get('node-1')).toMatchObject({ state: 'up', publicUrl: 'http://node-1' });
  });

  it('refuses a second live process with the same id, after waiting out the timeout', async () => {
    await joinNode('node-1');
    const started = Date.now();
    await expect(joinNode('node-1')).rejects.toMatchObject({ code: 'CR_STORAGE_CONFLICT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS);
  });

  it('ends the calls of a node that went silent and tells the others; a clean stop is down at once', async () => {
    const lostSeen: string[][] = [];
    await joinNode('node-a', async (lost) => void lostSeen.push([...lost]));
    const silent = storage('node-b');
    await silent.nodes.register({ publicUrl: null, at: Date.now(), staleBefore: 0, endReason: 'node-lost' });
    await silent.calls.create({ id: 'b-call', agentId: null, agentName: 'a', medium: WS, createdAt: Date.now() });
    await silent.calls.markAnswered('b-call', Date.now());
    const c = await joinNode('node-c');
    await c.close();
    // node-c left cleanly (down at once); node-b is lost once its heartbeat is older than the timeout, and its call is ended.
    const reader = storage('reader');
    const deadline = Date.now() + TIMEOUT_MS * 4;
    while ((await reader.calls.get('b-call'))?.state !== 'ended' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await reader.calls.get('b-call')).toMatchObject({ state: 'ended', endReason: 'node-lost' });
    expect(lostSeen.at(-1)).toEqual(expect.arrayContaining(['node-b', 'node-c']));
    expect(lostSeen.at(-1)).not.toContain('node-a');
    expect(await reader.nodes.get('node-c')).toMatchObject({ state: 'down' });
    expect((await reader.nodes.get('node-a'))?.state).toBe('up');
  });
});
