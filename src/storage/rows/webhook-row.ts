import type { CallEventType } from '../call-record.ts';
import { parseJson } from '../sql/parse-json.ts';
import type { NewWebhook, Versioned, WebhookRecord } from '../types.ts';

/** A `webhooks` row as read; `events` is a JSON array, NULL for every event type. */
export interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  events: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export const WEBHOOK_COLUMNS = 'id, url, secret, events, version, created_at, updated_at';

export function webhookFromRow(row: WebhookRow): WebhookRecord {
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

/** The record a write of `webhook` leaves (create or update). */
export function webhookRecord(id: string, webhook: NewWebhook, v: Versioned): WebhookRecord {
  return { id, url: webhook.url, secret: webhook.secret, events: webhook.events, ...v };
}

/** What an endpoint writes (create and update), in the order of the columns `url, secret, events`. */
export function webhookValues(webhook: NewWebhook): [url: string, secret: string, events: string | null] {
  return [webhook.url, webhook.secret, webhook.events === null ? null : JSON.stringify(webhook.events)];
}
