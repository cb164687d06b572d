import { randomUUID } from 'node:crypto';
import type { CallEventType } from '../call-record.ts';
import { StorageError } from '../storage-error.ts';
import type { NewWebhook, WebhookRecord, WebhookStore } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { parseJson } from './sql-helpers.ts';

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
export class SqliteWebhookStore implements WebhookStore {
  readonly #db: SqliteDb;
  readonly #now: () => number;

  constructor(db: SqliteDb, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  async create(webhook: NewWebhook): Promise<WebhookRecord> {
    return this.#db.guard('create webhook', () => {
      const id = randomUUID();
      const at = this.#now();
      const events = webhook.events === null ? null : JSON.stringify(webhook.events);
      this.#db.run('INSERT INTO webhooks (id, url, secret, events, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)', id, webhook.url, webhook.secret, events, at, at);
      return { id, url: webhook.url, secret: webhook.secret, events: webhook.events, version: 1, createdAt: at, updatedAt: at };
    });
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    return this.#db.guard('get webhook', () => {
      const row = this.#db.get<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`, id);
      return row === undefined ? undefined : fromRow(row);
    });
  }

  async all(): Promise<readonly WebhookRecord[]> {
    return this.#db.guard('list webhooks', () => this.#db.all<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks ORDER BY seq`).map(fromRow));
  }

  async update(id: string, expectedVersion: number, webhook: NewWebhook): Promise<WebhookRecord | undefined> {
    return this.#db.guard('update webhook', () =>
      this.#db.tx(() => {
        const row = this.#db.get<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE id = ?`, id);
        if (row === undefined) return undefined;
        if (row.version !== expectedVersion) throw new StorageError('conflict', `webhook ${id} changed since it was read`);
        const at = Math.max(this.#now(), row.updated_at);
        const events = webhook.events === null ? null : JSON.stringify(webhook.events);
        this.#db.run('UPDATE webhooks SET url = ?, secret = ?, events = ?, version = ?, updated_at = ? WHERE id = ?', webhook.url, webhook.secret, events, row.version + 1, at, id);
        return { id, url: webhook.url, secret: webhook.secret, events: webhook.events, version: row.version + 1, createdAt: row.created_at, updatedAt: at };
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete webhook', () => this.#db.run('DELETE FROM webhooks WHERE id = ?', id).changes > 0);
  }
}
