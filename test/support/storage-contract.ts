/**
 * The contract every Storage implementation passes (src/storage/types.ts). An implementation's test file
 * calls `storageContract(name, harness)`; the harness opens a fresh, empty storage per test and, when it
 * can, reopens the same data (a restart, or a second node on the same database). SQLite runs it on a
 * temporary file and in memory (test/unit/storage), PostgreSQL on a schema per test of a throwaway server
 * (test/integration/storage).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentSchema, clientToolSchema, httpToolSchema, type AgentSpecInput } from '../../src/config/agent-schema.ts';
import type { NewCallRecord } from '../../src/storage/call-record.ts';
import { isStorageError, type StorageError } from '../../src/storage/storage-error.ts';
import type { NewAgentTool, Storage } from '../../src/storage/types.ts';

export interface StorageHarness {
  /** A storage on this harness's data (empty the first time), speaking for node `nodeId` (default `node-1`). */
  open(nodeId?: string): Promise<Storage>;
  /** Remove everything the harness made. */
  cleanup(): Promise<void>;
}

export function agent(input: Partial<AgentSpecInput> & { name: string }) {
  return agentSchema.parse(input);
}

export function httpTool(name: string, extra: Record<string, unknown> = {}): NewAgentTool {
  return {
    name,
    tool: {
      type: 'http',
      definition: httpToolSchema.parse({
        name: `${name.replace(/[^A-Za-z0-9_-]/g, '_')}_model`,
        description: `Looks up ${name}`,
        httpMethod: 'GET',
        baseUrlPattern: 'https://api.example.com/orders/{orderId}',
        dynamicParameters: [{ name: 'orderId', location: 'path', required: true }],
        automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: 'secret-value-123456' }],
        ...extra,
      }),
    },
  };
}

export function clientTool(name: string): NewAgentTool {
  return { name, tool: { type: 'client', definition: clientToolSchema.parse({ name: `${name}_client`, description: `Client side ${name}` }) } };
}

function call(id: string, overrides: Partial<NewCallRecord> = {}): NewCallRecord {
  return { id, agentId: null, agentName: 'a', medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 24000 }, createdAt: 1_000, ...overrides };
}

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (err) {
    if (isStorageError(err)) return err;
    throw err;
  }
  throw new Error('expected a StorageError rejection');
}

export interface StorageContractOptions {
  /** A fresh harness (empty data) per test. */
  readonly harness: () => Promise<StorageHarness>;
  /**
   * `open` after `close` sees the same data (a restart), and two storages open at once share it (two
   * nodes): the restart and multi-node tests run.
   */
  readonly persistent: boolean;
}

export function storageContract(name: string, options: StorageContractOptions): void {
  const makeHarness = options.harness;
  describe(`Storage contract: ${name}`, () => {
    let harness: StorageHarness;
    let storage: Storage;

    beforeEach(async () => {
      harness = await makeHarness();
      storage = await harness.open();
    });

    afterEach(async () => {
      await storage.close();
      await harness.cleanup();
    });

    describe('agents', () => {
      it('creates with a fresh id and version 1, reads back by id and by name (any case)', async () => {
        const created = await storage.agents.create(agent({ name: 'Sales', description: 'sells' }));
        expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.version).toBe(1);
        expect(await storage.agents.get(created.id)).toEqual(created);
        expect((await storage.agents.getByName('sALES'))?.id).toBe(created.id);
        expect(await storage.agents.get('nope')).toBeUndefined();
      });

      it('refuses a second agent with the same name in another case, and keeps the first', async () => {
        const first = await storage.agents.create(agent({ name: 'sales' }));
        const err = await rejection(storage.agents.create(agent({ name: 'SALES', description: 'x' })));
        expect(err.code).toBe('CR_STORAGE_CONFLICT');
        const list = await storage.agents.list({ page: 1, limit: 10 });
        expect(list.items.map((a) => a.id)).toEqual([first.id]);
      });

      it('pages oldest first with totals; a page past the end is empty', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await storage.agents.create(agent({ name: `a${i}` }))).id);
        const p1 = await storage.agents.list({ page: 1, limit: 2 });
        expect(p1.items.map((a) => a.id)).toEqual(ids.slice(0, 2));
        expect(p1.total).toBe(5);
        expect((await storage.agents.list({ page: 3, limit: 2 })).items.map((a) => a.id)).toEqual(ids.slice(4));
        expect(await storage.agents.list({ page: 4, limit: 2 })).toEqual({ items: [], total: 5 });
      });

      it('searches name and description, case-insensitively, with % and _ literal', async () => {
        await storage.agents.create(agent({ name: 'billing', description: 'Pays 100% of INVOICES' }));
        await storage.agents.create(agent({ name: 'support_desk' }));
        await storage.agents.create(agent({ name: 'supportXdesk' }));
        expect((await storage.agents.list({ page: 1, limit: 10, search: 'invoice' })).items.map((a) => a.name)).toEqual(['billing']);
        expect((await storage.agents.list({ page: 1, limit: 10, search: '100%' })).total).toBe(1);
        expect((await storage.agents.list({ page: 1, limit: 10, search: 't_d' })).items.map((a) => a.name)).toEqual(['support_desk']);
      });

      it('updates only at the version read; a stale version or a taken name is a conflict that changes nothing', async () => {
        const a = await storage.agents.create(agent({ name: 'one' }));
        await storage.agents.create(agent({ name: 'two' }));
        const updated = await storage.agents.update(a.id, 1, agent({ name: 'uno', greeting: 'hola' }));
        expect(updated).toMatchObject({ id: a.id, name: 'uno', version: 2, createdAt: a.createdAt });
        expect((await rejection(storage.agents.update(a.id, 1, agent({ name: 'x' })))).code).toBe('CR_STORAGE_CONFLICT');
        expect((await rejection(storage.agents.update(a.id, 2, agent({ name: 'TWO' })))).code).toBe('CR_STORAGE_CONFLICT');
        expect(await storage.agents.get(a.id)).toEqual(updated);
        expect(await storage.agents.update('missing', 1, agent({ name: 'z' }))).toBeUndefined();
      });

      it('stores unicode and SQL-looking text verbatim', async () => {
        const description = "Robert'); DROP TABLE agents;-- ✓ 日本語 👋🏽 \u202e";
        const a = await storage.agents.create(agent({ name: 'sql', description, systemPrompt: '%_\\ 💬' }));
        expect((await storage.agents.get(a.id))?.spec).toMatchObject({ description, systemPrompt: '%_\\ 💬' });
        expect((await storage.agents.list({ page: 1, limit: 10, search: 'drop table' })).total).toBe(1);
      });

      it('deletes, with its assignments; the tool can then be deleted', async () => {
        const a = await storage.agents.create(agent({ name: 'gone' }));
        const t = await storage.tools.create(httpTool('lookup'));
        await storage.agents.assignTools(a.id, [t.id]);
        expect(await storage.agents.delete(a.id)).toBe(true);
        expect(await storage.agents.delete(a.id)).toBe(false);
        expect(await storage.tools.assignedTo(t.id)).toEqual([]);
        expect(await storage.tools.delete(t.id)).toBe(true);
      });
    });

    describe('tools', () => {
      it('keeps HTTP and client definitions exactly', async () => {
        const h = await storage.tools.create(httpTool('orders'));
        const c = await storage.tools.create(clientTool('cart'));
        expect(await storage.tools.get(h.id)).toEqual(h);
        expect(await storage.tools.get(c.id)).toEqual(c);
        expect(h.type).toBe('http');
        expect(c.type).toBe('client');
      });

      it('filters by type and searches name, description and model tool name', async () => {
        await storage.tools.create(httpTool('orders'));
        await storage.tools.create(clientTool('cart'));
        await storage.tools.create(httpTool('weather', { description: 'Forecast for a CITY' }));
        expect((await storage.tools.list({ page: 1, limit: 10, type: 'client' })).items.map((t) => t.name)).toEqual(['cart']);
        expect((await storage.tools.list({ page: 1, limit: 10, search: 'city' })).items.map((t) => t.name)).toEqual(['weather']);
        expect((await storage.tools.list({ page: 1, limit: 10, search: 'CART_CLIENT' })).items.map((t) => t.name)).toEqual(['cart']);
        expect((await storage.tools.list({ page: 1, limit: 10, search: 'o', type: 'http' })).total).toBe(2);
        expect((await storage.tools.list({ page: 2, limit: 1, type: 'http' })).items.map((t) => t.name)).toEqual(['weather']);
      });

      it('search follows renames and deletes, and takes quotes, short terms and non-ASCII text', async () => {
        const t = await storage.tools.create(httpTool('orders', { description: 'Checks "ORDER" status — Größe 日本' }));
        await storage.tools.create(clientTool('cart'));
        const names = async (search: string) => (await storage.tools.list({ page: 1, limit: 10, search })).items.map((x) => x.name);
        expect(await names('"order" status')).toEqual(['orders']);
        expect(await names('größe')).toEqual(['orders']);
        expect(await names('GRÖSSE')).toEqual([]);
        expect(await names('日本')).toEqual(['orders']);
        expect(await names('ca')).toEqual(['cart']);
        expect(await names('"')).toEqual(['orders']);
        await storage.tools.update(t.id, 1, httpTool('invoices', { description: 'Finds invoices' }));
        expect(await names('orders')).toEqual([]);
        expect(await names('status')).toEqual([]);
        expect(await names('invoice')).toEqual(['invoices']);
        await storage.tools.delete(t.id);
        expect(await names('invoice')).toEqual([]);
        expect((await storage.tools.list({ page: 1, limit: 10, search: 'cart' })).total).toBe(1);
      });

      it('names are unique case-insensitively; type cannot change; stale versions conflict', async () => {
        const t = await storage.tools.create(httpTool('orders'));
        expect((await rejection(storage.tools.create(clientTool('ORDERS')))).code).toBe('CR_STORAGE_CONFLICT');
        expect((await rejection(storage.tools.update(t.id, 1, clientTool('orders')))).code).toBe('CR_STORAGE_CONFLICT');
        const u = await storage.tools.update(t.id, 1, httpTool('orders2'));
        expect(u).toMatchObject({ name: 'orders2', version: 2 });
        expect((await rejection(storage.tools.update(t.id, 1, httpTool('orders3')))).code).toBe('CR_STORAGE_CONFLICT');
        expect(await storage.tools.update('missing', 1, httpTool('x'))).toBeUndefined();
      });

      it('refuses to delete a tool while it is assigned', async () => {
        const a = await storage.agents.create(agent({ name: 'a' }));
        const t = await storage.tools.create(httpTool('orders'));
        await storage.agents.assignTools(a.id, [t.id]);
        expect(await storage.tools.assignedTo(t.id)).toEqual([a.id]);
        expect((await rejection(storage.tools.delete(t.id))).code).toBe('CR_STORAGE_IN_USE');
        expect(await storage.tools.get(t.id)).toBeDefined();
        expect(await storage.agents.unassignTool(a.id, t.id)).toBe(true);
        expect(await storage.agents.unassignTool(a.id, t.id)).toBe(false);
        expect(await storage.tools.delete(t.id)).toBe(true);
        expect(await storage.tools.delete(t.id)).toBe(false);
      });
    });

    describe('assignments', () => {
      it('assigns all or none: unknown ids are named and nothing is assigned', async () => {
        const a = await storage.agents.create(agent({ name: 'a' }));
        const t1 = await storage.tools.create(httpTool('one'));
        const t2 = await storage.tools.create(clientTool('two'));
        const err = await rejection(storage.agents.assignTools(a.id, [t1.id, 'nope-1', t2.id, 'nope-2']));
        expect(err.code).toBe('CR_STORAGE_NOT_FOUND');
        expect(err.missing).toEqual(['nope-1', 'nope-2']);
        expect(await storage.agents.listTools(a.id)).toEqual([]);
        expect((await rejection(storage.agents.assignTools('no-agent', [t1.id]))).missing).toEqual(['no-agent']);
      });

      it('keeps assignment order, and assigning again is harmless', async () => {
        const a = await storage.agents.create(agent({ name: 'a' }));
        const t1 = await storage.tools.create(httpTool('one'));
        const t2 = await storage.tools.create(clientTool('two'));
        await storage.agents.assignTools(a.id, [t2.id]);
        await storage.agents.assignTools(a.id, [t1.id, t2.id, t1.id]);
        expect((await storage.agents.listTools(a.id)).map((t) => t.id)).toEqual([t2.id, t1.id]);
      });
    });

    describe('webhooks', () => {
      it('creates, lists, updates at a version and deletes', async () => {
        const w = await storage.webhooks.create({ url: 'https://hooks.example/a', secret: 's'.repeat(20), events: ['call.ended'] });
        const w2 = await storage.webhooks.create({ url: 'https://hooks.example/b', secret: 't'.repeat(20), events: null });
        expect(await storage.webhooks.all()).toEqual([w, w2]);
        const u = await storage.webhooks.update(w.id, 1, { url: 'https://hooks.example/c', secret: w.secret, events: null });
        expect(u).toMatchObject({ url: 'https://hooks.example/c', events: null, version: 2 });
        expect((await rejection(storage.webhooks.update(w.id, 1, { url: 'x', secret: 'y', events: null }))).code).toBe('CR_STORAGE_CONFLICT');
        expect(await storage.webhooks.delete(w.id)).toBe(true);
        expect(await storage.webhooks.get(w.id)).toBeUndefined();
        expect(await storage.webhooks.update(w.id, 2, { url: 'x', secret: 'y', events: null })).toBeUndefined();
      });
    });

    describe('call records', () => {
      it('starts empty in state starting; appends come back in order', async () => {
        await storage.calls.create(call('c1', { agentId: 'ag', metadata: { k: 'v' } }));
        expect(await storage.calls.get('c1')).toEqual({
          id: 'c1',
          agentId: 'ag',
          agentName: 'a',
          medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 24000 },
          state: 'starting',
          metadata: { k: 'v' },
          createdAt: 1_000,
          answeredAt: null,
          endedAt: null,
          endReason: null,
          nodeId: storage.nodes.self,
          transcript: [],
          toolCalls: [],
          turns: [],
        });
        for (let i = 0; i < 50; i++) await storage.calls.appendTranscript('c1', { role: i % 2 === 0 ? 'user' : 'assistant', text: `t${i}`, atMs: i });
        await storage.calls.appendTranscript('c1', { role: 'assistant', text: 'cut', atMs: 99, interrupted: true });
        await storage.calls.appendToolCall('c1', { toolCallId: 'x1', name: 'lookup', startedAtMs: 10, durationMs: 250, outcome: 'ok', resultPreview: '{"ok":1}' });
        await storage.calls.appendToolCall('c1', { toolCallId: 'x2', name: 'lookup', startedAtMs: 20, durationMs: 6000, outcome: 'timeout' });
        await storage.calls.appendTurn('c1', { turn: 1, marks: [{ name: 'speech_end', atMs: 100 }, { name: 'tts_first_audio', atMs: 700 }] });
        const r = await storage.calls.get('c1');
        expect(r?.transcript.map((t) => t.text)).toEqual([...Array.from({ length: 50 }, (_, i) => `t${i}`), 'cut']);
        expect(r?.transcript.at(-1)).toEqual({ role: 'assistant', text: 'cut', atMs: 99, interrupted: true });
        expect(r?.transcript[0]).toEqual({ role: 'user', text: 't0', atMs: 0 });
        expect(r?.toolCalls).toEqual([
          { toolCallId: 'x1', name: 'lookup', startedAtMs: 10, durationMs: 250, outcome: 'ok', resultPreview: '{"ok":1}' },
          { toolCallId: 'x2', name: 'lookup', startedAtMs: 20, durationMs: 6000, outcome: 'timeout' },
        ]);
        expect(r?.turns).toEqual([{ turn: 1, marks: [{ name: 'speech_end', atMs: 100 }, { name: 'tts_first_audio', atMs: 700 }] }]);
      });

      it('moves through ringing, active and ended; the first end wins; metadata merges', async () => {
        await storage.calls.create(call('c1'));
        await storage.calls.markRinging('c1');
        expect((await storage.calls.get('c1'))?.state).toBe('ringing');
        await storage.calls.markAnswered('c1', 2_000);
        await storage.calls.markRinging('c1');
        expect(await storage.calls.get('c1')).toMatchObject({ state: 'active', answeredAt: 2_000 });
        await storage.calls.setMetadata('c1', { a: '1', b: '2' });
        await storage.calls.setMetadata('c1', { b: '3' });
        await storage.calls.markEnded('c1', 5_000, 'caller-hangup');
        await storage.calls.markEnded('c1', 6_000, 'shutdown');
        await storage.calls.markAnswered('c1', 7_000);
        expect(await storage.calls.get('c1')).toMatchObject({ state: 'ended', answeredAt: 2_000, endedAt: 5_000, endReason: 'caller-hangup', metadata: { a: '1', b: '3' } });
      });

      it('every write to an unknown call rejects with not found; a duplicate id is a conflict', async () => {
        // Thunks, run one at a time: a networked storage rejects later, and an un-awaited rejection is unhandled.
        const writes = [
          () => storage.calls.markRinging('nope'),
          () => storage.calls.markAnswered('nope', 1),
          () => storage.calls.markEnded('nope', 1, 'failed'),
          () => storage.calls.appendTranscript('nope', { role: 'user', text: 'x', atMs: 1 }),
          () => storage.calls.appendToolCall('nope', { toolCallId: 'x', name: 'n', startedAtMs: 1, durationMs: 1, outcome: 'ok' }),
          () => storage.calls.appendTurn('nope', { turn: 1, marks: [] }),
          () => storage.calls.setMetadata('nope', { a: 'b' }),
        ];
        for (const w of writes) {
          const err = await rejection(w());
          expect(err.code).toBe('CR_STORAGE_NOT_FOUND');
          expect(err.missing).toEqual(['nope']);
        }
        await storage.calls.create(call('c1'));
        expect((await rejection(storage.calls.create(call('c1')))).code).toBe('CR_STORAGE_CONFLICT');
      });

      it('lists newest first, filtered by state, agent and time, paged', async () => {
        await storage.calls.create(call('c1', { agentId: 'A', createdAt: 1_000 }));
        await storage.calls.create(call('c2', { agentId: 'B', createdAt: 2_000 }));
        await storage.calls.create(call('c3', { agentId: 'A', createdAt: 3_000 }));
        await storage.calls.markEnded('c1', 1_500, 'failed');
        const ids = async (q: Parameters<Storage['calls']['list']>[0]) => (await storage.calls.list(q)).items.map((c) => c.id);
        expect(await ids({ page: 1, limit: 10 })).toEqual(['c3', 'c2', 'c1']);
        expect(await ids({ page: 1, limit: 10, state: 'ended' })).toEqual(['c1']);
        expect(await ids({ page: 1, limit: 10, agentId: 'A' })).toEqual(['c3', 'c1']);
        expect(await ids({ page: 1, limit: 10, since: 2_000 })).toEqual(['c3', 'c2']);
        expect(await ids({ page: 1, limit: 10, until: 2_000 })).toEqual(['c1']);
        expect(await storage.calls.list({ page: 2, limit: 2 })).toMatchObject({ total: 3, items: [{ id: 'c1' }] });
        const summary = (await storage.calls.list({ page: 1, limit: 1 })).items[0];
        expect(summary).not.toHaveProperty('transcript');
      });
    });

    describe('nodes', () => {
      it('a record names the node that created it, unless the writer names one', async () => {
        await storage.calls.create(call('c1'));
        await storage.calls.create(call('c2', { nodeId: 'elsewhere' }));
        expect((await storage.calls.get('c1'))?.nodeId).toBe(storage.nodes.self);
        expect((await storage.calls.list({ page: 1, limit: 10 })).items.map((c) => [c.id, c.nodeId])).toEqual([
          ['c2', 'elsewhere'],
          ['c1', storage.nodes.self],
        ]);
      });

      it('registers with its public URL, keeps a heartbeat and leaves', async () => {
        expect(await storage.nodes.heartbeat(1_000)).toBe(false);
        expect(await storage.nodes.register({ publicUrl: 'http://10.0.0.1:8080', at: 1_000, staleBefore: 0, endReason: 'node-lost' })).toEqual([]);
        expect(await storage.nodes.get(storage.nodes.self)).toEqual({ id: storage.nodes.self, publicUrl: 'http://10.0.0.1:8080', state: 'up', startedAt: 1_000, heartbeatAt: 1_000 });
        expect(await storage.nodes.heartbeat(2_000)).toBe(true);
        await storage.nodes.leave(3_000);
        expect(await storage.nodes.list()).toEqual([{ id: storage.nodes.self, publicUrl: 'http://10.0.0.1:8080', state: 'down', startedAt: 1_000, heartbeatAt: 3_000 }]);
        expect(await storage.nodes.get('other')).toBeUndefined();
      });

      it('a restarted node ends the calls its earlier life left unended', async () => {
        await storage.calls.create(call('live'));
        await storage.calls.create(call('done'));
        await storage.calls.create(call('theirs', { nodeId: 'other' }));
        await storage.calls.markEnded('done', 1_500, 'caller-hangup');
        expect(await storage.nodes.register({ publicUrl: null, at: 2_000, staleBefore: 0, endReason: 'node-lost' })).toEqual(['live']);
        expect(await storage.calls.get('live')).toMatchObject({ state: 'ended', endedAt: 2_000, endReason: 'node-lost' });
        expect(await storage.calls.get('done')).toMatchObject({ endReason: 'caller-hangup', endedAt: 1_500 });
        expect((await storage.calls.get('theirs'))?.state).toBe('starting');
      });

      it.runIf(options.persistent)('two live processes cannot hold one node id; a silent one is taken over', async () => {
        await storage.nodes.register({ publicUrl: null, at: 10_000, staleBefore: 0, endReason: 'node-lost' });
        const twin = await harness.open(storage.nodes.self);
        try {
          const err = await rejection(twin.nodes.register({ publicUrl: null, at: 11_000, staleBefore: 5_000, endReason: 'node-lost' }));
          expect(err.code).toBe('CR_STORAGE_CONFLICT');
          expect(await storage.nodes.heartbeat(12_000)).toBe(true);
          // The first one is silent past the threshold: the twin takes the id over and the first learns it.
          expect(await twin.nodes.register({ publicUrl: 'http://twin', at: 40_000, staleBefore: 20_000, endReason: 'node-lost' })).toEqual([]);
          expect(await storage.nodes.heartbeat(41_000)).toBe(false);
          expect(await twin.nodes.heartbeat(41_000)).toBe(true);
          expect((await twin.nodes.get(storage.nodes.self))?.publicUrl).toBe('http://twin');
        } finally {
          await twin.close();
        }
      });

      it.runIf(options.persistent)('ends the unended calls of lost and departed nodes once, never its own', async () => {
        const a = await harness.open('node-a');
        const b = await harness.open('node-b');
        const c = await harness.open('node-c');
        try {
          for (const [s, at] of [[a, 1_000], [b, 1_000], [c, 1_000]] as const) await s.nodes.register({ publicUrl: null, at, staleBefore: 0, endReason: 'node-lost' });
          await a.calls.create(call('a-live'));
          await a.calls.create(call('a-done'));
          await a.calls.markEnded('a-done', 2_000, 'caller-hangup');
          await b.calls.create(call('b-live'));
          await c.calls.create(call('c-live'));
          await a.nodes.heartbeat(9_000);
          await c.nodes.heartbeat(9_000);
          // b stopped cleanly but left a record open (a failed write); a went silent after 9 s.
          await b.nodes.leave(3_000);
          expect(await c.nodes.reapLost(5_000, 10_000, 'node-lost')).toEqual([{ callId: 'b-live', nodeId: 'node-b' }]);
          expect(await c.nodes.reapLost(5_000, 10_000, 'node-lost')).toEqual([]);
          expect((await c.calls.get('a-live'))?.state).toBe('starting');
          const later = await c.nodes.reapLost(9_500, 11_000, 'node-lost');
          expect(later).toEqual([{ callId: 'a-live', nodeId: 'node-a' }]);
          expect(await c.calls.get('a-live')).toMatchObject({ state: 'ended', endedAt: 11_000, endReason: 'node-lost' });
          expect((await c.calls.get('a-done'))?.endReason).toBe('caller-hangup');
          // A node never ends its own calls this way, however stale its own row looks.
          expect(await c.nodes.reapLost(Number.MAX_SAFE_INTEGER, 12_000, 'node-lost')).toEqual([]);
          expect((await c.calls.get('c-live'))?.state).toBe('starting');
        } finally {
          await Promise.all([a.close(), b.close(), c.close()]);
        }
      });
    });

    describe('join tokens', () => {
      it('consumes a token id once', async () => {
        expect(await storage.joinTokens.consume('j1', 2_000_000_000)).toBe(true);
        expect(await storage.joinTokens.consume('j1', 2_000_000_000)).toBe(false);
        expect(await storage.joinTokens.consume('j2', 2_000_000_000)).toBe(true);
      });
    });

    it('once closed, every operation rejects with CR_STORAGE_CLOSED; close is idempotent', async () => {
      await storage.close();
      await storage.close();
      for (const p of [
        () => storage.agents.create(agent({ name: 'late' })),
        () => storage.agents.list({ page: 1, limit: 1 }),
        () => storage.tools.create(httpTool('late')),
        () => storage.calls.appendTranscript('c', { role: 'user', text: 'x', atMs: 1 }),
        () => storage.joinTokens.consume('j', 1),
        () => storage.webhooks.all(),
        () => storage.nodes.heartbeat(1),
      ]) {
        expect((await rejection(p())).code).toBe('CR_STORAGE_CLOSED');
      }
    });

    it.runIf(options.persistent)('keeps everything across a restart', async () => {
      const a = await storage.agents.create(agent({ name: 'keep', greeting: 'hi' }));
      const t = await storage.tools.create(httpTool('keep-tool'));
      await storage.agents.assignTools(a.id, [t.id]);
      const w = await storage.webhooks.create({ url: 'https://hooks.example/a', secret: 's'.repeat(20), events: null });
      await storage.calls.create(call('c1'));
      await storage.calls.appendTranscript('c1', { role: 'user', text: 'hello', atMs: 5 });
      await storage.joinTokens.consume('used', 2_000_000_000);
      const before = await storage.calls.get('c1');
      await storage.close();
      storage = await harness.open();
      expect(await storage.agents.get(a.id)).toEqual(a);
      expect(await storage.tools.get(t.id)).toEqual(t);
      expect((await storage.agents.listTools(a.id)).map((x) => x.id)).toEqual([t.id]);
      expect(await storage.webhooks.get(w.id)).toEqual(w);
      expect(await storage.calls.get('c1')).toEqual(before);
      expect(await storage.joinTokens.consume('used', 2_000_000_000)).toBe(false);
    });
  });
}
