import { randomUUID } from 'node:crypto';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { WEBHOOK_COLUMNS, webhookFromRow, webhookRecord, webhookValues, type WebhookRow } from '../rows/webhook-row.ts';
import type { NewWebhook, WebhookRecord, WebhookStore } from '../types.ts';
import type { SqliteDb } from './sqlite-db.ts';

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
      this.#db.run('INSERT INTO webhooks (id, url, secret, events, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)', id, ...webhookValues(webhook), at, at);
      return webhookRecord(id, webhook, firstVersion(at));
    });
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    return this.#db.guard('get webhook', () => {
      const row = this.#db.get<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, id);
      return row === undefined ? undefined : webhookFromRow(row);
    });
  }

  async all(): Promise<readonly WebhookRecord[]> {
    return this.#db.guard('list webhooks', () => this.#db.all<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY seq`).map(webhookFromRow));
  }

  async update(id: string, expectedVersion: number, webhook: NewWebhook): Promise<WebhookRecord | undefined> {
    return this.#db.guard('update webhook', () =>
      this.#db.tx(() => {
        const row = this.#db.get<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, id);
        if (row === undefined) return undefined;
        const next = nextVersion(`webhook ${id}`, row, expectedVersion, this.#now);
        this.#db.run(
          'UPDATE webhooks SET url = ?, secret = ?, events = ?, version = ?, updated_at = ? WHERE id = ?',
          ...webhookValues(webhook),
          next.version,
          next.updatedAt,
          id,
        );
        return webhookRecord(id, webhook, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete webhook', () => this.#db.run('DELETE FROM webhooks WHERE id = ?', id).changes > 0);
  }
}
