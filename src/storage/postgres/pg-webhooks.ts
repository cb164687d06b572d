import { randomUUID } from 'node:crypto';
import { firstVersion, nextVersion } from '../rows/versioned.ts';
import { WEBHOOK_COLUMNS, webhookFromRow, webhookRecord, webhookValues, type WebhookRow } from '../rows/webhook-row.ts';
import type { NewWebhook, WebhookRecord, WebhookStore } from '../types.ts';
import type { PgDb } from './pg-db.ts';

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
      await this.#db.run(
        'INSERT INTO webhooks (id, url, secret, events, version, created_at, updated_at) VALUES ($1, $2, $3, $4, 1, $5, $5)',
        [id, ...webhookValues(webhook), at],
      );
      return webhookRecord(id, webhook, firstVersion(at));
    });
  }

  async get(id: string): Promise<WebhookRecord | undefined> {
    return this.#db.guard('get webhook', async () => {
      const row = await this.#db.row<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1`, [id]);
      return row === undefined ? undefined : webhookFromRow(row);
    });
  }

  async all(): Promise<readonly WebhookRecord[]> {
    return this.#db.guard('list webhooks', async () => (await this.#db.rows<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY seq`)).map(webhookFromRow));
  }

  async update(id: string, expectedVersion: number, webhook: NewWebhook): Promise<WebhookRecord | undefined> {
    return this.#db.guard('update webhook', () =>
      this.#db.tx(async (q) => {
        const row = await q.row<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 FOR UPDATE`, [id]);
        if (row === undefined) return undefined;
        const next = nextVersion(`webhook ${id}`, row, expectedVersion, this.#now);
        await q.run('UPDATE webhooks SET url = $1, secret = $2, events = $3, version = $4, updated_at = $5 WHERE id = $6', [
          ...webhookValues(webhook),
          next.version,
          next.updatedAt,
          id,
        ]);
        return webhookRecord(id, webhook, next);
      }),
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#db.guard('delete webhook', async () => (await this.#db.run('DELETE FROM webhooks WHERE id = $1', [id])) > 0);
  }
}
