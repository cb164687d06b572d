import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../core/logger.ts';

export interface HttpServerOptions {
  host: string;
  port: number;
  logger: Logger;
  metrics: Registry;
  /** Reports whether the gateway is ready to take calls (for /readyz). */
  ready: () => boolean;
  version: string;
  /**
   * Called with the app before it listens, for registrations that need the instance itself: the browser
   * client's routes and the WebSocket medium's upgrade handler on `app.server`.
   */
  onServer?: (app: HttpApp) => void | Promise<void>;
}

/**
 * The HTTP listener: health, readiness and Prometheus metrics now; the REST API and the WebSocket
 * medium register their routes on the same instance.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpApp> {
  const app = createHttpApp(options);
  await options.onServer?.(app);
  await app.listen({ host: options.host, port: options.port });
  return app;
}

/** The fastify instance with our logger type. */
export type HttpApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>;

function createHttpApp(options: HttpServerOptions): HttpApp {
  const app = Fastify({ loggerInstance: options.logger.child({ component: 'http' }), logController: new LogController({ disableRequestLogging: true }) });
  app.get('/healthz', async () => ({ status: 'ok', version: options.version }));
  app.get('/readyz', async (_req, reply) => {
    const ready = options.ready();
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await options.metrics.metrics();
    return reply.type(options.metrics.contentType).send(body);
  });
  return app;
}
