/**
 * This node's membership of the deployment, kept in the shared storage: it registers at start (refused
 * while another live process holds the same node id; calls a crashed earlier run left open are ended),
 * refreshes its heartbeat every `heartbeatMs`, and on each beat ends the records of calls held by nodes
 * that are down or silent past `nodeTimeoutMs` (`node-lost`) — every node does, the storage makes each end
 * happen once. It leaves (state `down`) when it stops, after its own calls' records are written.
 */
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { isStorageError } from '../storage/storage-error.ts';
import type { Storage } from '../storage/types.ts';
import { nodeLost } from './cluster-calls.ts';

export const NODE_LOST_REASON = 'node-lost';

export interface ClusterNodeOptions {
  readonly storage: Storage;
  /** `http.publicUrl` of this node, for the others to point joinUrl/controlUrl at. */
  readonly publicUrl: string | null;
  readonly heartbeatMs: number;
  readonly nodeTimeoutMs: number;
  readonly logger: Logger;
  /** After each beat, with the nodes found lost (relays to them end; webhook endpoints are re-read). */
  readonly onBeat?: (lost: ReadonlySet<string>) => Promise<void>;
  readonly now?: () => number;
}

export class ClusterNode {
  readonly #o: ClusterNodeOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(options: ClusterNodeOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Register and start beating. The id may still look held by a run of this node that crashed moments ago:
   * registration is retried until that heartbeat is `nodeTimeoutMs` old. Rejects (CR_STORAGE_CONFLICT) when it
   * stays held that long: another live process has this node id.
   */
  static async join(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    const started = node.#now();
    for (let attempt = 1; ; attempt++) {
      const at = node.#now();
      try {
        const ended = await options.storage.nodes.register({ publicUrl: options.publicUrl, at, staleBefore: at - options.nodeTimeoutMs, endReason: NODE_LOST_REASON });
        options.logger.info({ nodeId: options.storage.nodes.self, publicUrl: options.publicUrl, endedFromEarlierRun: ended.length }, 'node registered');
        break;
      } catch (err) {
        if (!isStorageError(err, 'conflict') || at - started > options.nodeTimeoutMs + options.heartbeatMs) throw err;
        if (attempt === 1) {
          options.logger.warn({ nodeId: options.storage.nodes.self, waitMs: options.nodeTimeoutMs }, 'node id held by a live heartbeat (another process, or a run that just crashed): waiting for it to go stale');
        }
        await new Promise((r) => setTimeout(r, options.heartbeatMs));
      }
    }
    node.#schedule();
    return node;
  }

  /** One beat now (tests); resolves when done. */
  beat(): Promise<void> {
    this.#beating = this.#beating.then(() => this.#beat());
    return this.#beating;
  }

  /** Stop beating and mark the node down. Call after this node's calls and their records are finished. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#beating.catch(() => undefined);
    await this.#o.storage.nodes.leave(this.#now()).catch((err: unknown) => this.#o.logger.warn({ err: errorMessage(err) }, 'node could not mark itself down'));
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.beat().finally(() => this.#schedule());
    }, this.#o.heartbeatMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const { storage, logger, nodeTimeoutMs } = this.#o;
    const now = this.#now();
    try {
      if (!(await storage.nodes.heartbeat(now))) {
        logger.error({ nodeId: storage.nodes.self }, 'another process has taken over this node id: check cluster.nodeId is unique');
      }
      const reaped = await storage.nodes.reapLost(now - nodeTimeoutMs, now, NODE_LOST_REASON);
      if (reaped.length > 0) logger.warn({ calls: reaped.length, nodes: [...new Set(reaped.map((r) => r.nodeId))] }, 'ended the calls of lost nodes');
      if (this.#o.onBeat !== undefined) {
        const lost = new Set((await storage.nodes.list()).filter((n) => n.id !== storage.nodes.self && nodeLost(n, now, nodeTimeoutMs)).map((n) => n.id));
        await this.#o.onBeat(lost);
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'node heartbeat failed');
    }
  }
}
