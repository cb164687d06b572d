import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Storage, WebhookRecord } from '../../storage/types.ts';
import { ApiError, notFound } from '../api-error.ts';
import { paged, toWebhookResource, type ApiApp } from '../resources.ts';
import { idParam, noContent, pageOf, responses, webhookCreate, webhookListQuery, webhookPatch, webhookResource } from '../schemas.ts';
import type { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import { UPDATE_RETRIES } from './agents.ts';
import { isStorageError } from '../../storage/storage-error.ts';

export interface WebhookRoutesOptions {
  readonly storage: Storage;
  readonly webhooks: WebhookDispatcher;
}

const params = z.strictObject({ id: idParam });

/**
 * /webhooks: endpoints that receive call events. Endpoints from the config file are listed (ids
 * `config-N`) but read-only here. Secrets are write-only: never returned, except once in the answer to a
 * POST that generated one.
 */
export function registerWebhookRoutes(app: ApiApp, o: WebhookRoutesOptions): void {
  const tags = ['webhooks'];

  app.get('/webhooks', {
    schema: { tags, operationId: 'listWebhooks', summary: 'List webhook endpoints (config first, then API)', querystring: webhookListQuery, response: responses({ 200: pageOf(webhookResource) }, [400]) },
    handler: async (request) => {
      const { page, limit } = request.query;
      const stored = new Map((await o.storage.webhooks.all()).map((w) => [w.id, w]));
      const all = o.webhooks.endpoints().map((v) => toWebhookResource(v, stored.get(v.target.id)));
      return paged(all.slice((page - 1) * limit, page * limit), all.length, page, limit);
    },
  });

  app.post('/webhooks', {
    schema: {
      tags,
      operationId: 'createWebhook',
      summary: 'Add a webhook endpoint',
      description:
        'Deliveries are POSTs of {id, type, callId, seq, at, data} signed with X-Callroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>.',
      body: webhookCreate,
      response: responses({ 201: webhookResource }, [400]),
    },
    handler: async (request, reply) => {
      const generated = request.body.secret === undefined ? randomBytes(32).toString('base64url') : undefined;
      const record = await o.storage.webhooks.create({ url: request.body.url, secret: request.body.secret ?? (generated as string), events: request.body.events ?? null });
      o.webhooks.upsertStored(record);
      return reply
        .code(201)
        .header('location', `/webhooks/${record.id}`)
        .send({ ...resource(o, record), ...(generated === undefined ? {} : { secret: generated }) });
    },
  });

  app.get('/webhooks/:id', {
    schema: { tags, operationId: 'getWebhook', summary: 'A webhook endpoint with its delivery stats', params, response: responses({ 200: webhookResource }, [404]) },
    handler: async (request) => {
      const view = o.webhooks.endpoint(request.params.id);
      if (view?.source === 'config') return toWebhookResource(view, undefined);
      const record = await o.storage.webhooks.get(request.params.id);
      if (record === undefined) throw notFound('webhook', request.params.id);
      return resource(o, record);
    },
  });

  app.patch('/webhooks/:id', {
    schema: {
      tags,
      operationId: 'updateWebhook',
      summary: 'Change the URL, secret or event types (events: null for all); waiting events follow',
      params,
      body: webhookPatch,
      response: responses({ 200: webhookResource }, [400, 404, 409]),
    },
    handler: async (request) => {
      readOnlyIfConfig(o, request.params.id);
      for (let attempt = 1; ; attempt++) {
        const current = await o.storage.webhooks.get(request.params.id);
        if (current === undefined) throw notFound('webhook', request.params.id);
        const b = request.body;
        try {
          const updated = await o.storage.webhooks.update(current.id, current.version, {
            url: b.url ?? current.url,
            secret: b.secret ?? current.secret,
            events: b.events === undefined ? current.events : b.events,
          });
          if (updated === undefined) throw notFound('webhook', request.params.id);
          o.webhooks.upsertStored(updated);
          return resource(o, updated);
        } catch (err) {
          if (!isStorageError(err, 'conflict') || attempt >= UPDATE_RETRIES) throw err;
        }
      }
    },
  });

  app.delete('/webhooks/:id', {
    schema: { tags, operationId: 'deleteWebhook', summary: 'Remove a webhook endpoint (its waiting events are discarded)', params, response: responses({ 204: noContent }, [404, 409]) },
    handler: async (request, reply) => {
      readOnlyIfConfig(o, request.params.id);
      if (!(await o.storage.webhooks.delete(request.params.id))) throw notFound('webhook', request.params.id);
      o.webhooks.removeEndpoint(request.params.id);
      return reply.code(204).send(null);
    },
  });
}

function readOnlyIfConfig(o: WebhookRoutesOptions, id: string): void {
  if (o.webhooks.endpoint(id)?.source === 'config') throw new ApiError(409, 'CR_API_READ_ONLY', 'this endpoint comes from the config file; change it there');
}

function resource(o: WebhookRoutesOptions, record: WebhookRecord) {
  const view = o.webhooks.endpoint(record.id);
  const fallback = {
    target: { id: record.id, url: record.url, secret: record.secret, events: record.events },
    source: 'api' as const,
    stats: { queued: 0, inFlight: 0, delivered: 0, failed: 0, dropped: 0, retries: 0, lastStatus: null, lastError: null, lastSuccessAt: null, lastFailureAt: null },
  };
  return toWebhookResource(view ?? fallback, record);
}
