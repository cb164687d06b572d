import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await startApiHarness({ api: { reservedAgentNames: ['demo'] } });
});
afterEach(async () => {
  await h.close();
});

type Agent = { id: string; name: string; [k: string]: unknown };
const SECRET = 'sk-live-0123456789abcdefWXYZ';

const withSecrets = {
  name: 'sales',
  greeting: 'Hello!',
  llm: { provider: 'openai', model: 'gpt-4o-mini', apiKey: SECRET, temperature: 0.3 },
  tools: {
    http: [
      {
        name: 'lookupOrder',
        description: 'Find an order',
        httpMethod: 'GET',
        baseUrlPattern: 'https://orders.example/v1/orders/{orderId}',
        dynamicParameters: [{ name: 'orderId', location: 'path', required: true }],
        automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: SECRET }],
      },
    ],
    mcp: [{ name: 'crm', url: 'https://mcp.example/mcp', headers: { authorization: `Bearer ${SECRET}` } }],
  },
};

async function create(body: unknown): Promise<Agent> {
  const r = await h.request('POST', '/agents', body);
  expect(r.status, r.text).toBe(201);
  return r.body as Agent;
}

describe('POST /agents', () => {
  it('201 with a server id, defaults applied and a Location header', async () => {
    const r = await h.request('POST', '/agents', { name: 'support' });
    expect(r.status).toBe(201);
    const a = r.body as Agent;
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
    expect(r.headers.location).toBe(`/agents/${a.id}`);
    expect(a).toMatchObject({ name: 'support', llm: { provider: 'demo' }, stt: { providers: ['pocketsphinx'] }, tools: { system: ['hangUp', 'transferCall', 'playDtmf'] } });
    expect(typeof a['createdAt']).toBe('string');
  });

  it('400 names the field and the reason; nothing is stored', async () => {
    const r = await h.request('POST', '/agents', { name: 'ok', llm: { temperature: 9 }, turn: { nope: 1 } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION' });
    const paths = (r.body as { details: Array<{ in: string; path: string }> }).details.map((d) => `${d.in}:${d.path}`);
    expect(paths).toEqual(expect.arrayContaining(['body:llm.temperature', 'body:turn']));
    expect((await h.request('GET', '/agents')).body).toMatchObject({ total: 0 });
  });

  it('409 for a name taken in any case, or by a config agent', async () => {
    await create({ name: 'Sales' });
    expect((await h.request('POST', '/agents', { name: 'SALES' })).body).toMatchObject({ code: 'CR_API_CONFLICT' });
    const r = await h.request('POST', '/agents', { name: 'Demo' });
    expect(r.status).toBe(409);
    expect((await h.request('GET', '/agents')).body).toMatchObject({ total: 1 });
  });

  it('400 for an inline HTTP tool the call layer could not build (placeholder without a path parameter)', async () => {
    const r = await h.request('POST', '/agents', {
      name: 'x',
      tools: { http: [{ name: 't', description: 'd', httpMethod: 'GET', baseUrlPattern: 'https://a.example/{missing}' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: 'tools.http.0', message: expect.stringContaining('{missing}') }] });
  });

  it('409 when two tools would show the model the same name', async () => {
    const r = await h.request('POST', '/agents', { name: 'x', tools: { client: [{ name: 'hangUp', description: 'mine' }] } });
    expect(r.status).toBe(409);
    expect((r.body as { message: string }).message).toContain('hangUp');
  });

  it('refuses a masked secret on create (a mask is never stored as a key)', async () => {
    const r = await h.request('POST', '/agents', { name: 'x', llm: { apiKey: '****WXYZ' } });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ details: [{ path: 'llm.apiKey' }] });
  });
});

describe('GET /agents and /agents/{id}', () => {
  it('masks every secret, and never returns one in full anywhere in the body', async () => {
    const a = await create(withSecrets);
    for (const r of [a, (await h.request('GET', `/agents/${a.id}`)).body, (await h.request('GET', '/agents')).body]) {
      const text = JSON.stringify(r);
      expect(text).not.toContain(SECRET);
      expect(text).toContain('****WXYZ');
    }
    // The stored spec keeps the real value for the call layer.
    expect((await h.storage.agents.get(a.id))?.spec.llm.apiKey).toBe(SECRET);
  });

  it('pages: limit 1, limit 100, a page past the end, limit 101 and page 0 refused', async () => {
    for (let i = 0; i < 3; i++) await create({ name: `a${i}` });
    expect((await h.request('GET', '/agents?limit=1&page=2')).body).toMatchObject({ items: [{ name: 'a1' }], page: 2, limit: 1, total: 3, totalPages: 3 });
    expect((await h.request('GET', '/agents?limit=100')).body).toMatchObject({ limit: 100, total: 3, totalPages: 1 });
    expect((await h.request('GET', '/agents?page=9')).body).toMatchObject({ items: [], page: 9, total: 3 });
    for (const q of ['limit=101', 'limit=0', 'page=0', 'page=x', 'limit=1.5', 'bogus=1']) {
      const r = await h.request('GET', `/agents?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ in: 'query' }] });
    }
  });

  it('searches name and description', async () => {
    await create({ name: 'billing', description: 'Handles invoices' });
    await create({ name: 'support' });
    expect((await h.request('GET', '/agents?search=INVOICE')).body).toMatchObject({ total: 1, items: [{ name: 'billing' }] });
  });

  it('404 with a stable code for an unknown id', async () => {
    const r = await h.request('GET', '/agents/00000000-0000-4000-8000-000000000000');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'CR_API_NOT_FOUND' });
  });
});

describe('PATCH /agents/{id}', () => {
  it('changes only the given fields, merging nested objects; null restores a default', async () => {
    const a = await create({ ...withSecrets, systemPrompt: 'custom prompt', turn: { endpointingMs: 400, fillers: ['hm'] } });
    const r = await h.request('PATCH', `/agents/${a.id}`, { greeting: 'Hi again', llm: { temperature: 0.9 }, turn: { fillerAfterMs: 99 }, systemPrompt: null });
    expect(r.status, r.text).toBe(200);
    const u = r.body as Agent;
    expect(u).toMatchObject({
      id: a.id,
      name: 'sales',
      greeting: 'Hi again',
      llm: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.9, apiKey: '****WXYZ' },
      turn: { endpointingMs: 400, fillers: ['hm'], fillerAfterMs: 99 },
    });
    expect(u['systemPrompt']).toBe((await create({ name: 'fresh' }))['systemPrompt']);
    const before = { ...a, greeting: undefined, llm: undefined, turn: undefined, systemPrompt: undefined, updatedAt: undefined };
    const after = { ...u, greeting: undefined, llm: undefined, turn: undefined, systemPrompt: undefined, updatedAt: undefined };
    expect(after).toEqual(before);
    expect((await h.storage.agents.get(a.id))?.spec.llm.apiKey).toBe(SECRET);
  });

  it('a GET sent back with its masks keeps the stored secrets; another mask is refused', async () => {
    const a = await create(withSecrets);
    const got = (await h.request('GET', `/agents/${a.id}`)).body as Agent & { tools: { http: Array<{ description: string }> } };
    got.tools.http[0] = { ...got.tools.http[0], description: 'Find an order fast' } as { description: string };
    const r = await h.request('PATCH', `/agents/${a.id}`, { tools: got.tools, llm: got['llm'] });
    expect(r.status, r.text).toBe(200);
    const stored = (await h.storage.agents.get(a.id))?.spec;
    expect(stored?.tools.http[0]?.automaticParameters[0]?.knownValue).toBe(SECRET);
    expect(stored?.tools.mcp[0]?.headers['authorization']).toBe(`Bearer ${SECRET}`);
    expect(stored?.tools.http[0]?.description).toBe('Find an order fast');
    const bad = await h.request('PATCH', `/agents/${a.id}`, { llm: { apiKey: '****AAAA' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ details: [{ path: 'llm.apiKey' }] });
  });

  it('400 for an unknown top-level key or an invalid merged result, with nothing changed', async () => {
    const a = await create({ name: 'one' });
    expect((await h.request('PATCH', `/agents/${a.id}`, { nope: 1 })).body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: '' }] });
    const r = await h.request('PATCH', `/agents/${a.id}`, { greeting: 'ok', vad: { threshold: 3 } });
    expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: 'vad.threshold' }] });
    expect((await h.request('PATCH', `/agents/${a.id}`, { name: null })).status).toBe(400);
    expect((await h.request('GET', `/agents/${a.id}`)).body).toEqual(a);
  });

  it('409 on renaming to a taken name, 404 on an unknown id', async () => {
    const a = await create({ name: 'one' });
    await create({ name: 'two' });
    expect((await h.request('PATCH', `/agents/${a.id}`, { name: 'Two' })).status).toBe(409);
    expect((await h.request('PATCH', '/agents/nope', { greeting: 'x' })).status).toBe(404);
  });

  it('concurrent patches to different fields both land (optimistic retry)', async () => {
    const a = await create({ name: 'one' });
    const results = await Promise.all([
      h.request('PATCH', `/agents/${a.id}`, { greeting: 'g' }),
      h.request('PATCH', `/agents/${a.id}`, { description: 'd' }),
      h.request('PATCH', `/agents/${a.id}`, { apology: 'sorry' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await h.request('GET', `/agents/${a.id}`)).body).toMatchObject({ greeting: 'g', description: 'd', apology: 'sorry' });
  });
});

describe('DELETE /agents/{id}', () => {
  it('204 then 404', async () => {
    const a = await create({ name: 'gone' });
    const r = await h.request('DELETE', `/agents/${a.id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect((await h.request('DELETE', `/agents/${a.id}`)).status).toBe(404);
    expect((await h.request('GET', `/agents/${a.id}`)).status).toBe(404);
  });
});
