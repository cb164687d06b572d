/**
 * The cross-node command bus, one contract for both implementations: in-process (a single gateway, and
 * routing tests) and PostgreSQL LISTEN/NOTIFY against a real server started for this file. Requests get
 * their answer or a timeout, never silence; one-way messages from one node to another arrive in order,
 * large ones included (stored in cluster_messages, referenced by the notification); closing rejects what
 * is pending. The PostgreSQL bus also survives a server restart: it listens again by itself.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { openPostgresStorage, pgConnectionConfig, type PostgresStorage } from '../../../src/storage/postgres/postgres-storage.ts';
import { InProcessBusHub, type CallCommandBus, type CommandHandler, type RelayMessage } from '../../../src/wiring/call-command-bus.ts';
import { nodeChannel, PgCommandBus } from '../../../src/wiring/call-command-bus-postgres.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { liveProcesses } from '../../support/sip-peers/managed-process.ts';

let pg: PostgresServer;
const schema = `bus_${randomBytes(4).toString('hex')}`;
let storage: PostgresStorage;

beforeAll(async () => {
  pg = await startPostgres();
  // The schema (with cluster_messages) comes from the storage migrations, as in a deployment.
  storage = await openPostgresStorage({ url: pg.url, password: pg.password, schema, nodeId: 'setup' });
});

afterAll(async () => {
  await storage.close();
  await pg.stop();
  expect(liveProcesses()).toHaveLength(0);
});

const open: CallCommandBus[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

type Factory = () => Promise<(nodeId: string) => Promise<CallCommandBus>>;

const implementations: ReadonlyArray<[string, Factory]> = [
  [
    'in-process',
    async () => {
      const hub = new InProcessBusHub();
      return async (nodeId) => hub.node(nodeId);
    },
  ],
  [
    'postgres LISTEN/NOTIFY',
    async () => async (nodeId) =>
      PgCommandBus.start({ nodeId, schema, connection: pgConnectionConfig({ url: pg.url, password: pg.password, schema }, 1), logger: silentLogger() }),
  ],
];

/** A handler that answers hang-ups for `live` call ids and records relay messages. */
function handler(live: ReadonlySet<string>, received: Array<{ m: RelayMessage; from: string }>): CommandHandler {
  return {
    command: async (c) => (c.type === 'hangup' && live.has(c.callId) ? { ok: true } : { ok: false, reason: 'not-found' }),
    message: (m, from) => received.push({ m, from }),
  };
}

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const [name, factory] of implementations) {
  describe(`command bus: ${name}`, () => {
    it('a command gets the answer of the node it was sent to', async () => {
      const make = await factory();
      const a = await make('a');
      const b = await make('b');
      const c = await make('c');
      open.push(a, b, c);
      b.onCommand(handler(new Set(['call-b']), []));
      c.onCommand(handler(new Set(['call-c']), []));
      expect(await a.send('b', { type: 'hangup', callId: 'call-b' })).toEqual({ ok: true });
      expect(await a.send('b', { type: 'hangup', callId: 'call-c' })).toEqual({ ok: false, reason: 'not-found' });
      expect(await a.send('c', { type: 'hangup', callId: 'call-c' })).toEqual({ ok: true });
      // Many in flight at once: each answer finds its own request.
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => a.send(i % 2 === 0 ? 'b' : 'c', { type: 'hangup', callId: i % 4 === 0 ? 'call-b' : 'x' })));
      expect(answers.map((x) => x.ok)).toEqual(Array.from({ length: 40 }, (_, i) => i % 4 === 0));
    });

    it('a node that does not listen is a timeout, not silence', async () => {
      const make = await factory();
      const a = await make('a');
      open.push(a);
      const started = Date.now();
      await expect(a.send('nobody', { type: 'hangup', callId: 'x' }, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'CR_BUS_TIMEOUT', retryable: true });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('messages from one node to another arrive in order, large ones in their place', async () => {
      const make = await factory();
      const a = await make('a');
      const b = await make('b');
      open.push(a, b);
      const received: Array<{ m: RelayMessage; from: string }> = [];
      b.onCommand(handler(new Set(), received));
      const big = 'x'.repeat(20_000);
      const sent: RelayMessage[] = [];
      for (let i = 0; i < 300; i++) {
        const text = i % 50 === 25 ? `${big}${i}` : `t${i}`;
        sent.push({ type: 'control.event', relayId: 'r1', event: { type: 'transcript', role: 'assistant', text, final: true, atMs: i } });
      }
      await Promise.all(sent.map((m) => a.post('b', m)));
      await until(() => received.length === 300);
      expect(received.map((r) => r.m)).toEqual(sent);
      expect(received.every((r) => r.from === 'a')).toBe(true);
    });

    it('close rejects what is pending and refuses what comes after', async () => {
      const make = await factory();
      const a = await make('a');
      open.push(a);
      const pending = a.send('nobody', { type: 'hangup', callId: 'x' }, { timeoutMs: 10_000 }).catch((err: unknown) => err);
      await a.close();
      expect(await pending).toMatchObject({ code: 'CR_BUS_UNAVAILABLE' });
      await expect(a.send('b', { type: 'hangup', callId: 'x' })).rejects.toMatchObject({ code: 'CR_BUS_UNAVAILABLE' });
      await expect(a.post('b', { type: 'control.detach', relayId: 'r' })).rejects.toMatchObject({ code: 'CR_BUS_UNAVAILABLE' });
    });
  });
}

describe('command bus: postgres specifics', () => {
  const start = (nodeId: string): Promise<PgCommandBus> =>
    PgCommandBus.start({ nodeId, schema, connection: pgConnectionConfig({ url: pg.url, password: pg.password, schema }, 1), logger: silentLogger() });

  it('channels are per schema and node: the same node id in another deployment hears nothing', async () => {
    expect(nodeChannel(schema, 'b')).not.toBe(nodeChannel('other', 'b'));
    expect(nodeChannel(schema, 'b')).toMatch(/^callroom_[0-9a-f]{32}$/);
    const a = await start('a');
    const b = await start('b');
    const stranger = await PgCommandBus.start({
      nodeId: 'b',
      schema: 'other',
      connection: pgConnectionConfig({ url: pg.url, password: pg.password, schema }, 1),
      logger: silentLogger(),
    });
    open.push(a, b, stranger);
    const heardByB: RelayMessage[] = [];
    const heardByStranger: RelayMessage[] = [];
    b.onCommand({ command: async () => ({ ok: true }), message: (m) => heardByB.push(m) });
    stranger.onCommand({ command: async () => ({ ok: true }), message: (m) => heardByStranger.push(m) });
    await a.post('b', { type: 'control.detach', relayId: 'r' });
    await until(() => heardByB.length === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(heardByStranger).toEqual([]);
  });

  it('stored payloads are removed as they are read', async () => {
    const a = await start('a');
    const b = await start('b');
    open.push(a, b);
    const got: RelayMessage[] = [];
    b.onCommand({ command: async () => ({ ok: true }), message: (m) => got.push(m) });
    await a.post('b', { type: 'control.invoke', relayId: 'r', invocation: { invocationId: 'i', toolName: 't', parameters: { blob: 'y'.repeat(50_000) } } });
    await until(() => got.length === 1);
    expect(await pg.sql(`SELECT COUNT(*)::int AS n FROM "${schema}".cluster_messages`)).toEqual([{ n: 0 }]);
  });

  it('listens again after the server restarts; sends fail only while it is down', async () => {
    const a = await start('a');
    const b = await start('b');
    open.push(a, b);
    b.onCommand(handler(new Set(['c1']), []));
    expect(await a.send('b', { type: 'hangup', callId: 'c1' })).toEqual({ ok: true });
    await pg.halt();
    await until(() => !a.listening && !b.listening);
    await expect(a.send('b', { type: 'hangup', callId: 'c1' })).rejects.toMatchObject({ code: 'CR_BUS_UNAVAILABLE' });
    await pg.restart();
    await until(() => a.listening && b.listening, 15_000);
    expect(await a.send('b', { type: 'hangup', callId: 'c1' })).toEqual({ ok: true });
  });

  it('cannot start without a database', async () => {
    await expect(
      PgCommandBus.start({ nodeId: 'a', schema, connection: pgConnectionConfig({ url: 'postgres://x@127.0.0.1:1/postgres', schema }, 1), logger: silentLogger() }),
    ).rejects.toMatchObject({ code: 'CR_BUS_UNAVAILABLE' });
  });
});
