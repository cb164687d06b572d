import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.ts';
import type { ApiOptions } from './api-options.ts';
import { isLoopbackHost } from './auth.ts';
import type { ReadyReport } from './readiness.ts';
import { registerApi } from './register-api.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  /** Whether the gateway is ready to take calls (for /readyz): a flag, or a report of named checks. */
  ready: () => boolean | ReadyReport | Promise<boolean | ReadyReport>;
  version: string;
  /** The REST API (agents, tools, calls, webhooks, /openapi.json, /docs); absent: health and metrics only. */
  api?: ApiOptions;
  /**
   * Called with the app once the built-in routes and the API are registered, before it listens: other
   * components (the WebSocket medium, the browser client page) add their routes or attach to `app.server`.
   */
  onServer?: (app: HttpApp) => void | Promise<void>;
}

/** Where a server without API keys listens instead of a non-loopback host. */
export const LOOPBACK_HOST = '127.0.0.1';

/**
 * The HTTP listener: health, readiness and Prometheus metrics, and the REST API when `api` is given;
 * the WebSocket medium registers its routes on the same instance. With the API and no `apiKeys`, the
 * server listens on loopback only, whatever `host` says, and logs that it does.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpApp> {
  const app = await createHttpApp(options);
  let host = options.host;
  if (options.api !== undefined && options.api.apiKeys.length === 0) {
    if (!isLoopbackHost(host)) host = LOOPBACK_HOST;
    options.logger.warn(
      { requestedHost: options.host, host },
      'no http.apiKeys configured: the REST API needs no key and the HTTP server listens on loopback only',
    );
  }
  try {
    await app.listen({ host, port: options.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}

/** The fastify instance with our logger type. */
export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

/** The app with every route registered, not listening (tests use `inject`). */
export async function createHttpApp(options: HttpServerOptions): Promise<HttpApp> {
  const app: HttpApp = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.api === undefined ? {} : { bodyLimit: options.api.maxBodyBytes }),
  });
  app.get('/healthz', async () => ({ status: 'ok', version: options.version }));
  app.get('/readyz', async (_req, reply) => {
    const r = await options.ready();
    const report = typeof r === 'boolean' ? { ready: r } : r;
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.metrics.metrics();
    return reply.type(options.metrics.contentType).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ code: 'CR_API_ROUTE_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}` });
  });
  if (options.api !== undefined) await registerApi(app, options.api, { logger: options.logger, version: options.version });
  try {
    await options.onServer?.(app);
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}
