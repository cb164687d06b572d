/**
 * A gateway's place in its deployment, assembled for main.ts: the command bus (PostgreSQL LISTEN/NOTIFY
 * when the storage is PostgreSQL, in-process otherwise), the node's registration and heartbeat, and the
 * routing of commands to the node holding a call.
 */
import type { Config } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { pgConnectionConfig } from '../storage/postgres/postgres-storage.ts';
import type { Storage } from '../storage/types.ts';
import { InProcessBusHub, type CallCommandBus } from './call-command-bus.ts';
import { PgCommandBus } from './call-command-bus-postgres.ts';
import type { LocalAttach } from './call-command-bus-control.ts';
import { ClusterCalls } from './cluster-calls.ts';
import { ClusterNode } from './cluster-node.ts';

export interface Cluster {
  readonly nodeId: string;
  readonly bus: CallCommandBus;
  readonly calls: ClusterCalls;
  /** Leave the deployment: relays end, the node is marked down, the bus closes. After the calls have ended. */
  close(): Promise<void>;
}

export async function startCluster(o: {
  readonly config: Pick<Config, 'cluster' | 'storage' | 'http'>;
  readonly storage: Storage;
  readonly logger: Logger;
  /** This node's live calls, for control sockets (read when a socket attaches: the manager is made later). */
  readonly localAttach: LocalAttach;
  /** Work to do on every heartbeat (webhook endpoints changed through another node). */
  readonly onBeat?: () => Promise<void>;
}): Promise<Cluster> {
  const { config, storage } = o;
  const logger = o.logger.child({ component: 'cluster' });
  const nodeId = config.cluster.nodeId;
  const s = config.storage;
  const bus: CallCommandBus =
    s.driver === 'postgres' && s.url !== undefined
      ? await PgCommandBus.start({
          nodeId,
          schema: s.schema,
          connection: pgConnectionConfig({ url: s.url, schema: s.schema, applicationName: `callroom ${nodeId} bus`, ...(s.password === undefined ? {} : { password: s.password }) }, 1),
          logger,
          defaultTimeoutMs: config.cluster.commandTimeoutMs,
        })
      : new InProcessBusHub().node(nodeId);
  let calls: ClusterCalls | undefined;
  let node: ClusterNode;
  try {
    calls = new ClusterCalls({
      bus,
      storage,
      localAttach: o.localAttach,
      logger,
      commandTimeoutMs: config.cluster.commandTimeoutMs,
      nodeTimeoutMs: config.cluster.nodeTimeoutMs,
    });
    const routing = calls;
    node = await ClusterNode.join({
      storage,
      publicUrl: config.http.publicUrl ?? null,
      heartbeatMs: config.cluster.heartbeatMs,
      nodeTimeoutMs: config.cluster.nodeTimeoutMs,
      logger,
      onBeat: async (lost) => {
        routing.nodesLost(lost);
        await o.onBeat?.().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'heartbeat work failed'));
      },
    });
  } catch (err) {
    calls?.close();
    await bus.close();
    throw err;
  }
  const routing = calls;
  let closed = false;
  return {
    nodeId,
    bus,
    calls: routing,
    async close() {
      if (closed) return;
      closed = true;
      routing.close();
      await node.close();
      await bus.close();
    },
  };
}
