import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.ts';
import { startApiHarness, TEST_API_KEY, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', redactContent: false }, sink) };
}

describe('API key', () => {
  it('401 JSON without a key or with a wrong one; the key works in X-API-Key or as a Bearer token', async () => {
    h = await startApiHarness({ apiKeys: [TEST_API_KEY, 'second-key-abcdefgh'] });
    const attempts: Array<Record<string, string>> = [{ 'x-api-key': '' }, { 'x-api-key': 'wrong-key-00000000' }, { 'x-api-key': `${TEST_API_KEY}x` }, { 'x-api-key': '', authorization: 'Basic abc' }];
    for (const headers of attempts) {
      const r = await h.request('GET', '/agents', undefined, headers);
      expect(r.status).toBe(401);
      expect(r.headers['content-type']).toMatch(/application\/json/);
      expect(r.body).toMatchObject({ code: 'CR_API_UNAUTHORIZED' });
    }
    expect((await h.request('GET', '/agents', undefined, { 'x-api-key': 'second-key-abcdefgh' })).status).toBe(200);
    expect((await h.request('GET', '/agents', undefined, { 'x-api-key': '', authorization: `Bearer ${TEST_API_KEY}` })).status).toBe(200);
  });

  it('checks the key before reading the body, and nothing is stored', async () => {
    h = await startApiHarness();
    const r = await h.request('POST', '/agents', { name: 'sneaky' }, { 'x-api-key': 'nope-nope-nope' });
    expect(r.status).toBe(401);
    expect((await h.storage.agents.list({ page: 1, limit: 10 })).total).toBe(0);
  });

  it('leaves documentation, health and metrics open', async () => {
    h = await startApiHarness();
    for (const url of ['/openapi.json', '/docs', '/docs/json', '/healthz', '/readyz', '/metrics']) {
      expect((await h.request('GET', url, undefined, { 'x-api-key': '' })).status, url).toBe(200);
    }
  });
});

describe('no API key configured', () => {
  it('listens on loopback only even when asked for every interface, and says so in the log', async () => {
    const { lines, logger } = capturingLogger();
    h = await startApiHarness({ apiKeys: [], listen: true, host: '0.0.0.0', logger });
    const address = h.app.server.address();
    expect(address).toMatchObject({ address: '127.0.0.1' });
    const warning = lines.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).includes('loopback only'));
    expect(warning).toMatchObject({ level: 40, requestedHost: '0.0.0.0', host: '127.0.0.1' });
    const res = await fetch(`${h.baseUrl}/agents`);
    expect(res.status).toBe(200);
  });

  it('answers loopback peers without a key and refuses any other peer', async () => {
    h = await startApiHarness({ apiKeys: [] });
    const from = (remoteAddress: string) => h?.app.inject({ method: 'GET', url: '/agents', remoteAddress });
    expect((await from('127.0.0.1'))?.statusCode).toBe(200);
    expect((await from('::1'))?.statusCode).toBe(200);
    expect((await from('::ffff:127.0.0.5'))?.statusCode).toBe(200);
    const remote = await from('10.1.2.3');
    expect(remote?.statusCode).toBe(401);
    expect(remote?.json()).toMatchObject({ code: 'CR_API_UNAUTHORIZED' });
    expect((await from('::ffff:192.168.1.1'))?.statusCode).toBe(401);
  });

  it('with keys, listens where it is told and logs no warning', async () => {
    const { lines, logger } = capturingLogger();
    h = await startApiHarness({ listen: true, host: '127.0.0.1', logger });
    expect(lines.some((l) => String(l['msg']).includes('loopback only'))).toBe(false);
    const res = await fetch(`${h.baseUrl}/agents`, { headers: { 'x-api-key': TEST_API_KEY } });
    expect(res.status).toBe(200);
  });
});
