import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { startHttpServer, type HttpServerOptions } from '../../../src/api/http-server.ts';
import { silentLogger } from '../../../src/core/logger.ts';

const base: HttpServerOptions = { host: '127.0.0.1', port: 0, logger: silentLogger(), metrics: new Registry(), ready: () => true, version: 't' };

describe('startHttpServer', () => {
  it('without the API: health, metrics, and JSON 404s; no API routes', async () => {
    const app = await startHttpServer(base);
    try {
      expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok', version: 't' });
      const r = await app.inject({ url: '/agents' });
      expect(r.statusCode).toBe(404);
      expect(r.json()).toMatchObject({ code: 'CR_API_ROUTE_NOT_FOUND' });
    } finally {
      await app.close();
    }
  });

  it('onServer runs before listening, so other components can add routes and attach to the server', async () => {
    let listeningAtHook: boolean | undefined;
    const app = await startHttpServer({
      ...base,
      onServer: (a) => {
        listeningAtHook = a.server.listening;
        a.get('/extra', async () => ({ extra: true }));
      },
    });
    try {
      expect(listeningAtHook).toBe(false);
      expect(app.server.listening).toBe(true);
      expect((await app.inject({ url: '/extra' })).json()).toEqual({ extra: true });
    } finally {
      await app.close();
    }
  });

  it('a failing onServer rejects the start and leaves nothing listening', async () => {
    let seen: { server: { listening: boolean } } | undefined;
    await expect(
      startHttpServer({
        ...base,
        onServer: (a) => {
          seen = a;
          throw new Error('medium failed');
        },
      }),
    ).rejects.toThrow('medium failed');
    expect(seen?.server.listening).toBe(false);
  });
});
