/**
 * Commands reach the node holding a call, whichever node they arrive at: node A routes a hang-up and a
 * control socket to node B, which holds the call. Run twice: on the in-process bus with a shared SQLite
 * file, and on PostgreSQL (LISTEN/NOTIFY and the shared database) started for this file. Node B's "live
 * call" is a stand-in that does what a call session does with a control client (a state event on attach,
 * events, client tool invocations answered through onResponse, disconnect); everything between the two
 * sockets — records, registry, bus, relays — is the real thing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallsPort } from '../../../src/api/calls-port.ts';
import type { ClientToolInvocation, ClientToolResponse, ControlClient, SessionEvent } from '../../../src/call/session-events.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { openPostgresStorage, pgConnectionConfig } from '../../../src/storage/postgres/postgres-storage.ts';
import { SqliteStorage } from '../../../src/storage/sqlite/sqlite-storage.ts';
import type { Storage } from '../../../src/storage/types.ts';
import { InProcessBusHub, type CallCommandBus } from '../../../src/wiring/call-command-bus.ts';
import { PgCommandBus } from '../../../src/wiring/call-command-bus-postgres.ts';
import { ClusterCalls } from '../../../src/wiring/cluster-calls.ts';
import { startPostgres, type PostgresServer } from '../../support/postgres.ts';
import { liveProcesses } from '../../support/sip-peers/managed-process.ts';

let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg.stop();
  expect(liveProcesses()).toHaveLength(0);
});

interface Node {
  readonly id: string;
  readonly storage: Storage;
  readonly bus: CallCommandBus;
}

interface Flavour {
  node(id: string): Promise<Node>;
  cleanup(): Promise<void>;
}

const flavours: ReadonlyArray<[string, () => Promise<Flavour>]> = [
  [
    'in-process bus, shared SQLite file',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'callroom-cluster-'));
      const hub = new InProcessBusHub();
      return {
        node: async (id) => ({ id, storage: new SqliteStorage({ dataDir: dir, nodeId: id }), bus: hub.node(id) }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    },
  ],
  [
    'PostgreSQL bus and storage',
    async () => {
      const schema = `cc_${randomBytes(4).toString('hex')}`;
      return {
        node: async (id) => {
          const storage = await openPostgresStorage({ url: pg.url, password: pg.password, schema, nodeId: id });
          const bus = await PgCommandBus.start({ nodeId: id, schema, connection: pgConnectionConfig({ url: pg.url, password: pg.password, schema }, 1), logger: silentLogger() });
          return { id, storage, bus };
        },
        cleanup: async () => void (await pg.sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
      };
    },
  ],
];

/** What a call session does with control clients, minus the call. */
class StandInCall {
  readonly clients = new Set<ControlClient>();
  readonly responses: ClientToolResponse[] = [];
  disconnects = 0;

  attach(client: ControlClient): () => void {
    this.clients.add(client);
    client.onResponse((r) => this.responses.push(r));
    client.onDisconnect(() => this.disconnects++);
    client.onSessionEvent({ type: 'state', state: 'listening' });
    return () => this.clients.delete(client);
  }

  emit(event: SessionEvent): void {
    for (const c of [...this.clients]) c.onSessionEvent(event);
  }

  invoke(invocation: ClientToolInvocation): void {
    for (const c of [...this.clients]) if (c.connected) void c.send(invocation);
  }
}

/** The application's end of a control socket: what arrives, and its answers. */
class SocketClient implements ControlClient {
  readonly events: SessionEvent[] = [];
  readonly invocations: ClientToolInvocation[] = [];
  readonly cancels: string[] = [];
  readonly #responders = new Set<(r: ClientToolResponse) => void>();
  readonly #disconnectors = new Set<() => void>();
  connected = true;
  onSessionEvent(event: SessionEvent): void {
    this.events.push(event);
  }
  send(invocation: ClientToolInvocation): void {
    this.invocations.push(invocation);
  }
  cancel(invocationId: string): void {
    this.cancels.push(invocationId);
  }
  onResponse(listener: (r: ClientToolResponse) => void): () => void {
    this.#responders.add(listener);
    return () => this.#responders.delete(listener);
  }
  onDisconnect(listener: () => void): () => void {
    this.#disconnectors.add(listener);
    return () => this.#disconnectors.delete(listener);
  }
  answer(r: ClientToolResponse): void {
    for (const l of [...this.#responders]) l(r);
  }
  close(): void {
    this.connected = false;
    for (const l of [...this.#disconnectors]) l();
  }
}

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const WS = { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } as const;

for (const [name, make] of flavours) {
  describe(`routing to the node holding the call: ${name}`, () => {
    let flavour: Flavour;
    let a: Node;
    let b: Node;
    let routeA: ClusterCalls;
    let routeB: ClusterCalls;
    let portA: CallsPort;
    const liveOnB = new Map<string, StandInCall>();
    const hungUpOnB: string[] = [];

    beforeAll(async () => {
      flavour = await make();
      a = await flavour.node('node-a');
      b = await flavour.node('node-b');
      for (const n of [a, b]) await n.storage.nodes.register({ publicUrl: `http://${n.id}.example:8080`, at: Date.now(), staleBefore: 0, endReason: 'node-lost' });
      const localOf = (live: Map<string, StandInCall>, log: string[]): CallsPort => ({
        activeCount: 0,
        start: () => Promise.reject(new Error('not in this test')),
        hangup: async (id) => {
          if (!live.delete(id)) return false;
          log.push(id);
          return true;
        },
      });
      const options = { logger: silentLogger(), commandTimeoutMs: 1_000, nodeTimeoutMs: 30_000 };
      routeA = new ClusterCalls({ bus: a.bus, storage: a.storage, localAttach: () => undefined, ...options });
      routeB = new ClusterCalls({ bus: b.bus, storage: b.storage, localAttach: (id, client) => liveOnB.get(id)?.attach(client), ...options });
      portA = routeA.calls(localOf(new Map(), []));
      routeB.calls(localOf(liveOnB, hungUpOnB));
    });

    afterAll(async () => {
      routeA.close();
      routeB.close();
      for (const n of [a, b]) {
        await n.bus.close();
        await n.storage.close();
      }
      await flavour.cleanup();
    });

    /** A call node B holds: its record (written by B) and its live stand-in. */
    async function callOnB(id: string): Promise<StandInCall> {
      await b.storage.calls.create({ id, agentId: null, agentName: 'x', medium: WS, createdAt: Date.now() });
      await b.storage.calls.markAnswered(id, Date.now());
      const call = new StandInCall();
      liveOnB.set(id, call);
      return call;
    }

    it('DELETE on node A hangs up the call node B holds; an unknown or ended call is not live', async () => {
      await callOnB('call-1');
      expect((await a.storage.calls.get('call-1'))?.nodeId).toBe('node-b');
      expect(await portA.hangup('call-1')).toBe(true);
      expect(hungUpOnB).toEqual(['call-1']);
      // B no longer has it live (its record would be ended by B's recorder): B answers not-found.
      expect(await portA.hangup('call-1')).toBe(false);
      expect(await portA.hangup('no-such-call')).toBe(false);
      await callOnB('call-2');
      await b.storage.calls.markEnded('call-2', Date.now(), 'caller-hangup');
      expect(await portA.hangup('call-2')).toBe(false);
      expect(hungUpOnB).toEqual(['call-1']);
    });

    it('points a control socket at the holder, and relays one that reached node A: events, client tools, answers, in order', async () => {
      const call = await callOnB('call-3');
      expect((await routeA.holderOf('call-3'))?.publicUrl).toBe('http://node-b.example:8080');
      const verify = routeA.verifyControl(async () => ({ callId: 'call-3', exp: 2_000_000_000, jti: 'j' }));
      expect((await verify('token')).callId).toBe('call-3');
      const socket = new SocketClient();
      const detach = routeA.attachControl('call-3', socket);
      expect(detach).toBeTypeOf('function');
      call.emit({ type: 'transcript', role: 'user', text: 'where is my order', final: true, atMs: 100 });
      call.invoke({ invocationId: 'inv-1', toolName: 'lookup', parameters: { order: 42, blob: 'z'.repeat(12_000) } });
      call.emit({ type: 'state', state: 'thinking' });
      await until(() => socket.events.length === 3 && socket.invocations.length === 1);
      expect(socket.events).toEqual([
        { type: 'state', state: 'listening' },
        { type: 'transcript', role: 'user', text: 'where is my order', final: true, atMs: 100 },
        { type: 'state', state: 'thinking' },
      ]);
      expect(socket.invocations[0]).toMatchObject({ invocationId: 'inv-1', parameters: { order: 42 } });
      socket.answer({ invocationId: 'inv-1', result: '{"status":"shipped"}' });
      await until(() => call.responses.length === 1);
      expect(call.responses).toEqual([{ invocationId: 'inv-1', result: '{"status":"shipped"}' }]);
      expect(routeA.relays).toEqual({ holding: 0, relaying: 1 });
      expect(routeB.relays).toEqual({ holding: 1, relaying: 0 });
      // The call ends on B: the socket hears it and both sides let go.
      call.emit({ type: 'ended', end: { reason: 'remote-hangup' }, atMs: 5_000 });
      await until(() => socket.events.at(-1)?.type === 'ended');
      await until(() => routeA.relays.relaying === 0 && routeB.relays.holding === 0);
      expect(call.clients.size).toBe(0);
    });

    it('a relayed socket that closes while a client tool waits: the call sees the disconnect', async () => {
      const call = await callOnB('call-4');
      await routeA.verifyControl(async () => ({ callId: 'call-4', exp: 2_000_000_000, jti: 'j' }))('t');
      const socket = new SocketClient();
      expect(routeA.attachControl('call-4', socket)).toBeTypeOf('function');
      call.invoke({ invocationId: 'inv-2', toolName: 'slow', parameters: {} });
      await until(() => socket.invocations.length === 1);
      socket.close();
      await until(() => call.disconnects === 1);
      expect(call.clients.size).toBe(0);
      expect(routeB.relays.holding).toBe(0);
    });

    it('a control socket for a call no node holds live is refused (nothing reserved)', async () => {
      await routeA.verifyControl(async () => ({ callId: 'never-existed', exp: 2_000_000_000, jti: 'j' }))('t');
      expect(routeA.attachControl('never-existed', new SocketClient())).toBeUndefined();
      // Recorded on B but not live there any more: B refuses the relay.
      await b.storage.calls.create({ id: 'call-5', agentId: null, agentName: 'x', medium: WS, createdAt: Date.now() });
      await routeA.verifyControl(async () => ({ callId: 'call-5', exp: 2_000_000_000, jti: 'j' }))('t');
      expect(routeA.attachControl('call-5', new SocketClient())).toBeUndefined();
      expect(routeA.relays).toEqual({ holding: 0, relaying: 0 });
    });

    it('the holder is lost: the relayed socket ends, and commands stop at a timeout or at the registry', async () => {
      const call = await callOnB('call-6');
      await routeA.verifyControl(async () => ({ callId: 'call-6', exp: 2_000_000_000, jti: 'j' }))('t');
      const socket = new SocketClient();
      routeA.attachControl('call-6', socket);
      await until(() => socket.events.length === 1);
      routeA.nodesLost(new Set(['node-b']));
      expect(socket.events.at(-1)).toMatchObject({ type: 'ended', end: { reason: 'error' } });
      expect(routeA.relays.relaying).toBe(0);
      call.clients.clear();
      // B stops answering (its bus is gone) while its registry entry still looks alive: a timeout, as an error.
      await callOnB('call-7');
      const silent = await flavour.node('node-silent');
      await silent.storage.nodes.register({ publicUrl: null, at: Date.now(), staleBefore: 0, endReason: 'node-lost' });
      await silent.storage.calls.create({ id: 'call-8', agentId: null, agentName: 'x', medium: WS, createdAt: Date.now() });
      await silent.bus.close();
      await expect(portA.hangup('call-8')).rejects.toMatchObject({ code: 'CR_CALL_NODE_UNREACHABLE' });
      // Once it is marked down, the registry answers at once: not live.
      await silent.storage.nodes.leave(Date.now());
      const started = Date.now();
      expect(await portA.hangup('call-8')).toBe(false);
      expect(Date.now() - started).toBeLessThan(500);
      await silent.storage.close();
    });
  });
}
