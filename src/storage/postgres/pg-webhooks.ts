import { randomUUID } from 'node:crypto';
import type { CallEventType } from '../call-record.ts';
import { StorageError } from '../storage-error.ts';
import type { NewWebhook, WebhookRecord, WebhookStore } from '../types.ts';
import { parseJson } from '../sqlite/sql-helpers.ts';
import type { PgDb } from './pg-db.ts';

interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  events: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, url, secret, events, version, created_at, updated_at';

function fromRow(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    url: row.url,
    secret: row.secret,
    events: row.events === null ? null : parseJson<CallEventType[]>(row.events),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Webhook endpoints created through the API (`webhooks`). */
export class PgWebhookStore implements WebhookStore {
  readonly #db: PgDb;
  readonly #now: () => number;

  constructor(db: PgDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(webhook: NewWebhook): Promise<WebhookRecord> {
    return this.#db.guard('create webhook', async () => {
      const id = randomUUID();
      const at = this.#now();
      const events = webhook.events === null ? null : JSON.stringify(webhook.events);
      await this.#db.run('INSERT INTO webhooks (id, url, secret, events, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)', [id, webhook.url, webhook.secret, events, at]);
      return { id, url: webhook.url, secret: webhook.secret, events: webhook.events, version: 1, createdAt: at, updatedAt: at };
    });
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    return this.#db.guard('get webhook', async () => {
      const row = await this.#db.row<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1`, [id]);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  async all(): Promise<readonly WebhookRecord[]> {
    return this.#db.guard('list webhooks', async () => (await this.#db.rows<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks ORDER BY seq`)).map(fromRow));
  }

  async update(id: string, expectedVersion: number, webhook: NewWebhook): Promise<WebhookRecord | undefined> {
    return this.#db.guard('update webhook', () =>
      this.#db.tx(async (q) => {
        const row = await q.row<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = $1 FOR UPDATE`, [id]);
        if (row === undefined) return undefined;
        if (row.version !== expectedVersion) throw new StorageError('conflict', `webhook ${id} changed since it was read`);
        const at = Math.max(this.#now(), row.updated_at);
        const events = webhook.events === null ? null : JSON.stringify(webhook.events);
        await q.run('UPDATE webhooks SET url = $1, secret = $2, events = $3, version = $4, updated_at = $5 WHERE id = $6', [webhook.url, webhook.secret, events, row.version + 1, at, id]);
        return { id, url: webhook.url, secret: webhook.secret, events: webhook.events, version: row.version + 1, createdAt: row.created_at, updatedAt: at };
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete webhook', async () => (await this.#db.run('DELETE FROM webhooks WHERE id = $1', [id])) > 0);
  }
}
