/**
 * The command bus over PostgreSQL LISTEN/NOTIFY, on the database the nodes already share.
 *
 * Why this and not HTTP between nodes or a broker: the nodes already hold connections to one PostgreSQL,
 * NOTIFY is delivered to every session listening on the channel as soon as the sending statement commits,
 * in the order one session sent them, and it needs no extra service, no node-to-node routes or
 * credentials, and no address book (a node's channel is derived from its id). What it does not give:
 * durability (a node that is not listening when a notification is sent never gets it) and payloads over
 * 8,000 bytes. Both are handled here: a request always ends in an answer or a timeout (never a silent
 * loss), and a large payload goes into `cluster_messages`, the notification carrying its row id.
 *
 * Each node keeps one dedicated connection: it LISTENs on the node's channel and sends every notification
 * (so what one node posts to another stays in order). A dropped connection is reopened with backoff;
 * while it is down, sends reject with CR_BUS_UNAVAILABLE and messages for this node are lost.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import {
  BusError,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type CallCommand,
  type CallCommandBus,
  type CommandAnswer,
  type CommandHandler,
  type RelayMessage,
} from './call-command-bus.ts';

/** NOTIFY refuses payloads of 8,000 bytes or more; what is larger is stored and referenced. */
const MAX_INLINE_BYTES = 7_000;
/** Stored payloads nobody fetched (the receiver died) are removed after this long. */
const SPILL_MAX_AGE_MS = 10 * 60_000;
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5_000;

type Envelope =
  | { readonly k: 'req'; readonly id: string; readonly from: string; readonly c: CallCommand }
  | { readonly k: 'ans'; readonly id: string; readonly from: string; readonly a: CommandAnswer }
  | { readonly k: 'msg'; readonly from: string; readonly m: RelayMessage };

/** The channel a node listens on: derived from the schema and the node id, a plain identifier whatever the id. */
export function nodeChannel(schema: string, nodeId: string): string {
  return `callroom_${createHash('sha256').update(`${schema}\n${nodeId}`).digest('hex').slice(0, 32)}`;
}

export interface PgCommandBusOptions {
  readonly nodeId: string;
  /** Connection settings (pgConnectionConfig of the storage: same server, schema and credentials). */
  readonly connection: ClientConfig;
  /** The storage schema (channels of two deployments sharing a database stay apart). */
  readonly schema: string;
  readonly logger: Logger;
  readonly defaultTimeoutMs?: number;
}

interface Pending {
  readonly resolve: (a: CommandAnswer) => void;
  readonly reject: (err: BusError) => void;
  readonly timer: NodeJS.Timeout;
}

export class PgCommandBus implements CallCommandBus {
  readonly nodeId: string;
  readonly #o: PgCommandBusOptions;
  readonly #channel: string;
  readonly #pending = new Map<string, Pending>();
  #client: Client | undefined;
  #ready = false;
  #closed = false;
  #handler: CommandHandler | undefined;
  #inbound: Promise<void> = Promise.resolve();
  #reconnectTimer: NodeJS.Timeout | undefined;
  #backoff = RECONNECT_MIN_MS;
  readonly #sweep: NodeJS.Timeout;

  private constructor(options: PgCommandBusOptions) {
    this.nodeId = options.nodeId;
    this.#o = options;
    this.#channel = nodeChannel(options.schema, options.nodeId);
    this.#sweep = setInterval(() => void this.#sweepSpilled(), 60_000);
    this.#sweep.unref();
  }

  /** Connect and LISTEN; rejects when the database cannot be reached. */
  static async start(options: PgCommandBusOptions): Promise<PgCommandBus> {
    const bus = new PgCommandBus(options);
    try {
      await bus.#connect();
    } catch (err) {
      await bus.close();
      throw new BusError('CR_BUS_UNAVAILABLE', `command bus: cannot listen: ${errorMessage(err)}`, { cause: err });
    }
    return bus;
  }

  /** Whether the listening connection is up (a node that is not listening misses what is sent to it). */
  get listening(): boolean {
    return this.#ready;
  }

  onCommand(handler: CommandHandler): void {
    this.#handler = handler;
  }

  send(nodeId: string, command: CallCommand, options: { readonly timeoutMs?: number } = {}): Promise<CommandAnswer> {
    const timeoutMs = options.timeoutMs ?? this.#o.defaultTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const id = randomUUID();
    return new Promise<CommandAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new BusError('CR_BUS_TIMEOUT', `node ${nodeId} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#notify(nodeId, { k: 'req', id, from: this.nodeId, c: command }).catch((err: unknown) => {
        const p = this.#pending.get(id);
        if (p === undefined) return;
        clearTimeout(p.timer);
        this.#pending.delete(id);
        p.reject(err instanceof BusError ? err : new BusError('CR_BUS_UNAVAILABLE', `command bus: ${errorMessage(err)}`, { cause: err }));
      });
    });
  }

  post(nodeId: string, message: RelayMessage): Promise<void> {
    return this.#notify(nodeId, { k: 'msg', from: this.nodeId, m: message });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ready = false;
    this.#handler = undefined;
    clearInterval(this.#sweep);
    clearTimeout(this.#reconnectTimer);
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new BusError('CR_BUS_UNAVAILABLE', 'the command bus closed'));
    }
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) {
      await this.#inbound.catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  async #connect(): Promise<void> {
    const client = new Client(this.#o.connection);
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client, undefined));
    client.on('notification', (n) => {
      if (n.channel !== this.#channel || n.payload === undefined) return;
      const payload = n.payload;
      // One at a time: a stored payload is fetched before the next notification is handled (order).
      this.#inbound = this.#inbound.then(() => this.#receive(client, payload)).catch((err: unknown) => {
        this.#o.logger.warn({ err: errorMessage(err) }, 'command bus: message dropped');
      });
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#ready = true;
    this.#backoff = RECONNECT_MIN_MS;
  }

  #lost(client: Client, err: Error | undefined): void {
    if (client !== this.#client || this.#closed) return;
    this.#client = undefined;
    this.#ready = false;
    this.#o.logger.warn({ err: err === undefined ? 'connection ended' : errorMessage(err) }, 'command bus: connection lost, reconnecting');
    void client.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(RECONNECT_MAX_MS, this.#backoff * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect().then(
        () => this.#o.logger.info('command bus: listening again'),
        () => this.#scheduleReconnect(),
      );
    }, delay);
    this.#reconnectTimer.unref();
  }

  async #notify(nodeId: string, envelope: Envelope): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.#ready) throw new BusError('CR_BUS_UNAVAILABLE', this.#closed ? 'the command bus is closed' : 'the command bus is reconnecting');
    const channel = nodeChannel(this.#o.schema, nodeId);
    const text = JSON.stringify(envelope);
    try {
      if (Buffer.byteLength(text) <= MAX_INLINE_BYTES) {
        await client.query('SELECT pg_notify($1, $2)', [channel, text]);
      } else {
        // Stored and announced in one statement (one transaction): the row is visible when the notification arrives.
        await client.query(
          `WITH m AS (INSERT INTO cluster_messages (payload, created_at) VALUES ($2, $3) RETURNING id)
           SELECT pg_notify($1, '{"ref":' || m.id || '}') FROM m`,
          [channel, text, Date.now()],
        );
      }
    } catch (err) {
      throw new BusError('CR_BUS_UNAVAILABLE', `command bus: send failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  async #receive(client: Client, payload: string): Promise<void> {
    let text = payload;
    const ref = /^\{"ref":(\d+)\}$/.exec(payload)?.[1];
    if (ref !== undefined) {
      const r = await client.query<{ payload: string }>('DELETE FROM cluster_messages WHERE id = $1 RETURNING payload', [ref]);
      const row = r.rows[0];
      if (row === undefined) return;
      text = row.payload;
    }
    const envelope = JSON.parse(text) as Envelope;
    switch (envelope.k) {
      case 'ans': {
        const p = this.#pending.get(envelope.id);
        if (p === undefined) return; // answered after the sender gave up
        clearTimeout(p.timer);
        this.#pending.delete(envelope.id);
        p.resolve(envelope.a);
        return;
      }
      case 'msg':
        this.#handler?.message(envelope.m, envelope.from);
        return;
      case 'req': {
        const handler = this.#handler;
        if (handler === undefined) return;
        // Answered without holding up the next notification: a hang-up may take a moment.
        void handler
          .command(envelope.c, envelope.from)
          .catch((err: unknown): CommandAnswer => {
            this.#o.logger.warn({ err: errorMessage(err), command: envelope.c.type }, 'command bus: command failed');
            return { ok: false, reason: 'failed' };
          })
          .then((a) => this.#notify(envelope.from, { k: 'ans', id: envelope.id, from: this.nodeId, a }))
          .catch((err: unknown) => this.#o.logger.warn({ err: errorMessage(err) }, 'command bus: answer not sent'));
        return;
      }
      default:
        return;
    }
  }

  async #sweepSpilled(): Promise<void> {
    const client = this.#client;
    if (client === undefined || !this.#ready) return;
    await client.query('DELETE FROM cluster_messages WHERE created_at < $1', [Date.now() - SPILL_MAX_AGE_MS]).catch(() => undefined);
  }
}
