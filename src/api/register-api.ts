import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyRequest } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../core/logger.ts';
import type { ApiOptions } from './api-options.ts';
import { apiKeyCheck } from './auth.ts';
import { apiErrorHandler } from './error-handler.ts';
import type { HttpApp } from './http-server.ts';
import { registerJsonBodyParser } from './json-body.ts';
import type { ApiApp } from './resources.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerAgentToolRoutes } from './routes/agent-tools.ts';
import { registerAssignmentRoutes } from './routes/agent-assignments.ts';
import { registerCallRoutes } from './routes/calls.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/**
 * The docs page loads only from this server (air-gapped sites have nothing else). No
 * upgrade-insecure-requests: it would send a plain-HTTP gateway's own assets to https and break the page.
 */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

/** Documentation is readable without a key: it describes the API, it holds no data. */
function isPublic(request: FastifyRequest): boolean {
  const url = request.routeOptions.url;
  return url === OPENAPI_PATH || url === DOCS_PATH || (url?.startsWith(`${DOCS_PATH}/`) ?? false);
}

/**
 * Register the REST API on the HTTP app, in its own fastify context: zod validation, the JSON body
 * parser with its limits, API key auth, `{code, message, details}` errors, OpenAPI 3.1 at /openapi.json
 * and Swagger UI at /docs (its assets are served from the package, no CDN). Health, readiness and metrics
 * routes outside this context are unaffected.
 */
export async function registerApi(app: HttpApp, options: ApiOptions, meta: { logger: Logger; version: string }): Promise<void> {
  const logger = meta.logger.child({ component: 'api' });
  await app.register(async (scope) => {
    const api: ApiApp = scope.withTypeProvider<ZodTypeProvider>();
    api.setValidatorCompiler(validatorCompiler);
    // Responses are built by typed mappers and checked against the document by the contract tests; no
    // second validation per response.
    api.setSerializerCompiler(() => (data) => JSON.stringify(data));
    registerJsonBodyParser(api, options.maxBodyBytes);
    api.setErrorHandler(apiErrorHandler(logger));
    await api.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Callroom REST API',
          version: meta.version,
          description:
            'Agents, tools, calls and webhooks of a Callroom voice gateway. Every error is JSON {code, message, details?} with a stable code. Send the API key in X-API-Key.',
        },
        components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } } },
        security: [{ apiKey: [] }],
        tags: [{ name: 'agents' }, { name: 'agent tools' }, { name: 'calls' }, { name: 'webhooks' }],
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await api.register(fastifySwaggerUi, { routePrefix: DOCS_PATH, staticCSP: DOCS_CSP, uiConfig: { validatorUrl: null } });
    api.get(OPENAPI_PATH, { schema: { hide: true } }, async () => api.swagger());
    api.addHook('onRequest', apiKeyCheck(options.apiKeys, isPublic));

    const reservedAgentNames = new Set((options.reservedAgentNames ?? []).map((n) => n.toLowerCase()));
    registerAgentRoutes(api, { storage: options.storage, logger, reservedAgentNames });
    registerAssignmentRoutes(api, { storage: options.storage, logger });
    registerAgentToolRoutes(api, { storage: options.storage, logger });
    registerCallRoutes(api, {
      storage: options.storage,
      calls: options.calls,
      joinTokens: options.joinTokens,
      ...(options.controlTokens === undefined ? {} : { controlTokens: options.controlTokens }),
      ...(options.controlPath === undefined ? {} : { controlPath: options.controlPath }),
      logger,
      maxConcurrentCalls: options.maxConcurrentCalls,
      maxCallSeconds: options.maxCallSeconds,
      ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
      ...(options.joinPath === undefined ? {} : { joinPath: options.joinPath }),
      ...(options.sipTrunks === undefined ? {} : { sipTrunks: options.sipTrunks }),
      ...(options.callNodeUrl === undefined ? {} : { callNodeUrl: options.callNodeUrl }),
    });
    registerWebhookRoutes(api, { storage: options.storage, webhooks: options.webhooks });
  });
}
