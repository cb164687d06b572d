/**
 * The REST API on a real SQLite storage in a temp directory, with a fake call layer, a webhook
 * dispatcher and join tokens: what main.ts assembles, minus the calls. `inject` drives it in process;
 * `listen: true` also binds 127.0.0.1 on a free port for tests that need real sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { ApiOptions } from '../../src/api/api-options.ts';
import { createHttpApp, startHttpServer, type HttpApp } from '../../src/api/http-server.ts';
import { WebhookDispatcher } from '../../src/api/webhooks/dispatcher.ts';
import { configSchema, type Config } from '../../src/config/schema.ts';
import { JoinTokens } from '../../src/core/join-token.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { openStorage } from '../../src/storage/open-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { FakeCallsPort } from './api-fake-calls.ts';

export const TEST_API_KEY = 'test-api-key-0123456789';

export interface ApiHarness {
  readonly app: HttpApp;
  readonly storage: Storage;
  readonly calls: FakeCallsPort;
  readonly webhooks: WebhookDispatcher;
  readonly joinTokens: JoinTokens;
  readonly metrics: Registry;
  readonly dataDir: string;
  /** http://127.0.0.1:<port> when listening. */
  readonly baseUrl: string | undefined;
  /** In-process request with the API key (unless `headers` overrides it); JSON in and out. */
  request(method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: unknown;
  readonly text: string;
}

export interface ApiHarnessOptions {
  readonly dataDir?: string;
  readonly apiKeys?: readonly string[];
  readonly listen?: boolean;
  readonly host?: string;
  readonly logger?: Logger;
  readonly api?: Partial<ApiOptions>;
  readonly webhookEndpoints?: Config['webhooks'];
  readonly webhookDelivery?: Partial<Config['webhookDelivery']>;
}

export async function startApiHarness(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const ownDir = options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'callroom-api-')) : undefined;
  const dataDir = options.dataDir ?? join(ownDir as string, 'data');
  const logger = options.logger ?? silentLogger();
  const storage = await openStorage({ driver: 'sqlite', dataDir });
  const metrics = new Registry();
  const defaults = configSchema.parse({});
  const webhooks = new WebhookDispatcher({
    endpoints: options.webhookEndpoints ?? [],
    settings: { ...defaults.webhookDelivery, ...options.webhookDelivery },
    metrics,
    logger,
  });
  await webhooks.loadStored(storage.webhooks);
  const joinTokens = new JoinTokens({ secret: 's'.repeat(32), ttlSeconds: 60, store: storage.joinTokens });
  const controlTokens = new JoinTokens({ secret: 'c'.repeat(32), ttlSeconds: 60, store: storage.joinTokens });
  const calls = new FakeCallsPort(storage);
  const api: ApiOptions = {
    storage,
    calls,
    webhooks,
    joinTokens,
    controlTokens,
    apiKeys: options.apiKeys ?? [TEST_API_KEY],
    maxConcurrentCalls: 10,
    maxCallSeconds: 3600,
    maxBodyBytes: defaults.http.maxBodyBytes,
    ...options.api,
  };
  const serverOptions = { host: options.host ?? '127.0.0.1', port: 0, logger, metrics, ready: () => true, version: 'test', api };
  let app: HttpApp;
  try {
    app = options.listen === true ? await startHttpServer(serverOptions) : await createHttpApp(serverOptions);
    await app.ready();
  } catch (err) {
    await webhooks.close();
    await storage.close();
    if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
    throw err;
  }
  const address = app.server.address();
  const baseUrl = options.listen === true && address !== null && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : undefined;
  let closed = false;
  return {
    app,
    storage,
    calls,
    webhooks,
    joinTokens,
    metrics,
    dataDir,
    baseUrl,
    async request(method, url, body, headers = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { 'x-api-key': TEST_API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      let parsed: unknown = undefined;
      try {
        parsed = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        parsed = undefined;
      }
      return { status: res.statusCode, headers: res.headers, body: parsed, text: res.body };
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await webhooks.close();
      await storage.close();
      if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
    },
  };
}
