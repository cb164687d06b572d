import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_TOOLS } from '../../../src/config/system-tools.ts';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await startApiHarness();
});
afterEach(async () => {
  await h.close();
});

type Tool = { id: string; name: string; type: string; definition: Record<string, unknown> };
const KEY = 'weather-key-ABCDEFGHIJ1234';

function httpBody(name: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'http',
    definition: {
      name,
      description: `Weather for a city (${name})`,
      httpMethod: 'GET',
      baseUrlPattern: 'https://weather.example/v1/{city}/now',
      dynamicParameters: [
        { name: 'city', location: 'path', type: 'string', description: 'City name', required: true },
        { name: 'units', location: 'query', enum: ['metric', 'imperial'] },
      ],
      automaticParameters: [
        { name: 'X-Api-Key', location: 'header', knownValue: KEY },
        { name: 'caller', location: 'query', knownParam: 'call.from' },
      ],
      ...extra,
    },
  };
}

async function create(body: unknown): Promise<Tool> {
  const r = await h.request('POST', '/agent-tools', body);
  expect(r.status, r.text).toBe(201);
  return r.body as Tool;
}

describe('POST /agent-tools', () => {
  it('creates an HTTP tool: 201, Location, definition kept, automatic value masked', async () => {
    const r = await h.request('POST', '/agent-tools', httpBody('weather'));
    expect(r.status).toBe(201);
    const t = r.body as Tool;
    expect(r.headers.location).toBe(`/agent-tools/${t.id}`);
    expect(t).toMatchObject({ name: 'weather', type: 'http', definition: { httpMethod: 'GET', dynamicParameters: [{ name: 'city', required: true }, { name: 'units', enum: ['metric', 'imperial'] }] } });
    expect(JSON.stringify(t)).not.toContain(KEY);
    expect((t.definition['automaticParameters'] as Array<{ knownValue?: string }>)[0]?.knownValue).toBe('****1234');
    const stored = await h.storage.tools.get(t.id);
    expect(stored?.type === 'http' && stored.definition.automaticParameters[0]?.knownValue).toBe(KEY);
  });

  it('creates a client tool; a resource name distinct from the model tool name', async () => {
    const t = await create({ type: 'client', name: 'cart-tool', definition: { name: 'addToCart', description: 'Add an item', dynamicParameters: [{ name: 'sku', required: true }] } });
    expect(t).toMatchObject({ name: 'cart-tool', type: 'client', definition: { name: 'addToCart', interruptible: false } });
  });

  it('400: a path parameter the URL does not name', async () => {
    const r = await h.request('POST', '/agent-tools', httpBody('w', { dynamicParameters: [{ name: 'city', location: 'path' }, { name: 'zip', location: 'path' }] }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ in: 'body', path: 'definition.dynamicParameters.1.location', message: expect.stringContaining('zip') }] });
  });

  it('400: a client tool with HTTP fields, or with a parameter location', async () => {
    const withHttp = await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'c', description: 'd', httpMethod: 'POST', baseUrlPattern: 'https://x.example' } });
    expect(withHttp.status).toBe(400);
    expect(withHttp.body).toMatchObject({ details: [{ path: 'definition', message: expect.stringMatching(/httpMethod.*baseUrlPattern/) }] });
    const withLocation = await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'c', description: 'd', dynamicParameters: [{ name: 'a', location: 'query' }] } });
    expect(withLocation.status).toBe(400);
    expect(withLocation.body).toMatchObject({ details: [{ path: 'definition.dynamicParameters.0' }] });
  });

  it('400: what the call layer could not run (a header a tool may not set, a body on GET), a missing type, a masked secret', async () => {
    const header = await h.request('POST', '/agent-tools', httpBody('w', { automaticParameters: [{ name: 'Host', location: 'header', knownValue: 'x' }] }));
    expect(header.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: 'definition', message: expect.stringContaining('Host') }] });
    const body = await h.request('POST', '/agent-tools', httpBody('w', { dynamicParameters: [{ name: 'city', location: 'path' }, { name: 'q', location: 'body' }] }));
    expect(body.status).toBe(400);
    expect((await h.request('POST', '/agent-tools', { definition: httpBody('w').definition })).status).toBe(400);
    const masked = await h.request('POST', '/agent-tools', httpBody('w', { automaticParameters: [{ name: 'k', location: 'header', knownValue: '****1234' }] }));
    expect(masked.body).toMatchObject({ details: [{ path: 'definition.automaticParameters.0.knownValue' }] });
    expect((await h.request('GET', '/agent-tools')).body).toMatchObject({ total: 0 });
  });

  it('409 for a resource name taken in any case', async () => {
    await create(httpBody('weather'));
    const r = await h.request('POST', '/agent-tools', { ...httpBody('other'), name: 'WEATHER' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'CR_API_CONFLICT' });
  });
});

describe('GET /agent-tools', () => {
  beforeEach(async () => {
    for (let i = 0; i < 7; i++) await create(httpBody(`http_${i}`));
    await create({ type: 'client', name: 'alpha', definition: { name: 'pickColour', description: 'Ask the app for a COLOUR' } });
    await create({ type: 'client', definition: { name: 'beta_tool', description: 'Show a map' } });
  });

  it('pages with totals: limit 1, limit 100, a page past the end', async () => {
    expect((await h.request('GET', '/agent-tools')).body).toMatchObject({ page: 1, limit: 50, total: 9, totalPages: 1 });
    expect((await h.request('GET', '/agent-tools?limit=1&page=3')).body).toMatchObject({ items: [{ name: 'http_2' }], total: 9, totalPages: 9 });
    const all = (await h.request('GET', '/agent-tools?limit=100')).body as { items: Tool[] };
    expect(all.items).toHaveLength(9);
    expect((await h.request('GET', '/agent-tools?page=10&limit=1')).body).toMatchObject({ items: [], page: 10, total: 9 });
    expect((await h.request('GET', '/agent-tools?page=2')).body).toMatchObject({ items: [], total: 9 });
  });

  it('refuses limit 101, limit 0, page 0 and an unknown type', async () => {
    for (const q of ['limit=101', 'limit=0', 'page=0', 'type=mcp', 'page=-1']) {
      const r = await h.request('GET', `/agent-tools?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION' });
    }
  });

  it('filters by type and searches name, description and model tool name', async () => {
    expect((await h.request('GET', '/agent-tools?type=client')).body).toMatchObject({ total: 2 });
    expect((await h.request('GET', '/agent-tools?type=http&limit=2')).body).toMatchObject({ total: 7, totalPages: 4 });
    expect((await h.request('GET', '/agent-tools?search=alpha')).body).toMatchObject({ total: 1, items: [{ name: 'alpha' }] });
    expect((await h.request('GET', '/agent-tools?search=colour')).body).toMatchObject({ total: 1, items: [{ name: 'alpha' }] });
    expect((await h.request('GET', '/agent-tools?search=PICKCOL')).body).toMatchObject({ total: 1 });
    expect((await h.request('GET', '/agent-tools?search=http_3')).body).toMatchObject({ total: 1 });
    expect((await h.request('GET', '/agent-tools?search=a_t')).body).toMatchObject({ total: 1, items: [{ name: 'beta_tool' }] });
    expect((await h.request('GET', '/agent-tools?search=weather&type=client')).body).toMatchObject({ total: 0 });
    expect((await h.request('GET', `/agent-tools?search=${encodeURIComponent("' OR 1=1 --")}`)).body).toMatchObject({ total: 0 });
  });
});

describe('GET /agent-tools/system', () => {
  it('lists the three built-in tools from the shared table', async () => {
    const r = await h.request('GET', '/agent-tools/system');
    expect(r.status).toBe(200);
    const items = (r.body as { items: Array<{ name: string; parameters: unknown }> }).items;
    expect(items.map((i) => i.name)).toEqual(['hangUp', 'transferCall', 'playDtmf']);
    expect(items[1]?.parameters).toEqual(SYSTEM_TOOLS.transferCall.parameters);
  });
});

describe('GET, PATCH, DELETE /agent-tools/{id}', () => {
  it('404 for unknown ids', async () => {
    for (const m of ['GET', 'DELETE']) expect((await h.request(m, '/agent-tools/nope')).status).toBe(404);
    expect((await h.request('PATCH', '/agent-tools/nope', { name: 'x' })).status).toBe(404);
  });

  it('PATCH changes only the given fields; the masked key sent back is kept; the type cannot change', async () => {
    const t = await create(httpBody('weather'));
    const r = await h.request('PATCH', `/agent-tools/${t.id}`, { definition: { description: 'Current weather', timeoutMs: 2000 } });
    expect(r.status, r.text).toBe(200);
    const u = r.body as Tool;
    expect(u.definition).toEqual({ ...t.definition, description: 'Current weather', timeoutMs: 2000 });
    expect(u.name).toBe('weather');
    const resend = await h.request('PATCH', `/agent-tools/${t.id}`, { definition: { automaticParameters: t.definition['automaticParameters'] } });
    expect(resend.status, resend.text).toBe(200);
    const stored = await h.storage.tools.get(t.id);
    expect(stored?.type === 'http' && stored.definition.automaticParameters[0]?.knownValue).toBe(KEY);
    expect((await h.request('PATCH', `/agent-tools/${t.id}`, { type: 'client' })).body).toMatchObject({ details: [{ path: 'type' }] });
    const bad = await h.request('PATCH', `/agent-tools/${t.id}`, { definition: { baseUrlPattern: 'https://weather.example/v2/now' } });
    expect(bad.status).toBe(400);
    expect((await h.request('GET', `/agent-tools/${t.id}`)).body).toEqual(resend.body);
    expect((resend.body as Tool).definition).toEqual(u.definition);
  });

  it('DELETE is refused with 409 while the tool is assigned, and works once it is not', async () => {
    const t = await create(httpBody('weather'));
    const a = (await h.request('POST', '/agents', { name: 'bot' })).body as { id: string };
    expect((await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [t.id] })).status).toBe(200);
    const r = await h.request('DELETE', `/agent-tools/${t.id}`);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'CR_API_IN_USE' });
    expect((await h.request('GET', `/agent-tools/${t.id}`)).status).toBe(200);
    expect((await h.request('DELETE', `/agents/${a.id}/tools/${t.id}`)).status).toBe(204);
    expect((await h.request('DELETE', `/agent-tools/${t.id}`)).status).toBe(204);
    expect((await h.request('GET', `/agent-tools/${t.id}`)).status).toBe(404);
  });
});

describe('/agents/{id}/tools', () => {
  it('lists custom and system tools; assigning a mix of known and unknown ids is a 404 with nothing assigned', async () => {
    const t1 = await create(httpBody('one'));
    const t2 = await create({ type: 'client', definition: { name: 'two', description: 'd' } });
    const a = (await h.request('POST', '/agents', { name: 'bot', tools: { system: ['hangUp'] } })).body as { id: string };
    const mixed = await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [t1.id, 'no-such-tool', t2.id] });
    expect(mixed.status).toBe(404);
    expect(mixed.body).toMatchObject({ code: 'CR_API_NOT_FOUND', details: [{ path: 'toolIds.1' }] });
    expect((await h.request('GET', `/agents/${a.id}/tools`)).body).toMatchObject({ custom: [], system: [{ name: 'hangUp' }] });
    const ok = await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [t2.id, t1.id] });
    expect(ok.status).toBe(200);
    expect((ok.body as { custom: Tool[] }).custom.map((t) => t.id)).toEqual([t2.id, t1.id]);
    expect(JSON.stringify(ok.body)).not.toContain(KEY);
    expect((await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [t1.id] })).status).toBe(200);
    expect((await h.request('GET', `/agents/${a.id}/tools`)).body).toMatchObject({ custom: [{ id: t2.id }, { id: t1.id }] });
  });

  it('400 for an empty toolIds; 404 for an unknown agent or an unassigned tool', async () => {
    const t1 = await create(httpBody('one'));
    const a = (await h.request('POST', '/agents', { name: 'bot' })).body as { id: string };
    expect((await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [] })).status).toBe(400);
    expect((await h.request('POST', '/agents/nope/tools', { toolIds: [t1.id] })).status).toBe(404);
    expect((await h.request('GET', '/agents/nope/tools')).status).toBe(404);
    expect((await h.request('DELETE', `/agents/${a.id}/tools/${t1.id}`)).status).toBe(404);
  });

  it('409 when an assigned tool would give the model a name it already has; renames are checked too', async () => {
    const a = (await h.request('POST', '/agents', { name: 'bot', tools: { client: [{ name: 'lookup', description: 'inline' }] } })).body as { id: string };
    const clash = await create({ type: 'client', definition: { name: 'lookup', description: 'api' } });
    const r = await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [clash.id] });
    expect(r.status).toBe(409);
    const other = await create({ type: 'client', definition: { name: 'other', description: 'api' } });
    expect((await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [other.id] })).status).toBe(200);
    expect((await h.request('PATCH', `/agent-tools/${other.id}`, { definition: { name: 'lookup' } })).status).toBe(409);
    expect((await h.request('PATCH', `/agents/${a.id}`, { tools: { client: [{ name: 'other', description: 'x' }] } })).status).toBe(409);
  });
});
