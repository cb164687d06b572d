/**
 * Hostile and careless input: each gets a clear 4xx with a stable code, nothing is stored half-way, and
 * the server goes on answering. Body limits and content types are also checked over a real socket.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, TEST_API_KEY, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApiHarness({ listen: true, api: { maxBodyBytes: 4096 } });
});
afterAll(async () => {
  await h.close();
});

async function counts() {
  return {
    agents: (await h.storage.agents.list({ page: 1, limit: 1 })).total,
    tools: (await h.storage.tools.list({ page: 1, limit: 1 })).total,
  };
}

/** A raw request over the socket (chunked when `chunks` is given without a length). */
function raw(method: string, path: string, headers: Record<string, string>, chunks: readonly string[]): Promise<{ status: number; body: string }> {
  const url = new URL(path, h.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { 'x-api-key': TEST_API_KEY, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('bodies', () => {
  it('413 for a body over http.maxBodyBytes, declared or chunked; nothing stored', async () => {
    const before = await counts();
    const big = JSON.stringify({ name: 'big', systemPrompt: 'x'.repeat(10_000) });
    const declared = await raw('POST', '/agents', { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) }, [big]);
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ code: 'CR_API_BODY_TOO_LARGE' });
    const chunked = await raw('POST', '/agents', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, [big.slice(0, 3000), big.slice(3000)]);
    expect(chunked.status).toBe(413);
    expect(await counts()).toEqual(before);
  });

  it('415 for anything but JSON; 400 for malformed JSON without echoing it', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const r = await raw('POST', '/agents', { 'content-type': type }, ['name=x']);
      expect(r.status, type).toBe(415);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'CR_API_UNSUPPORTED_MEDIA_TYPE' });
    }
    for (const body of ['{"name": "x",', "{'name': 'x'}", 'NaN', '{"name":"x"} trailing', '\u0000']) {
      const r = await h.request('POST', '/agents', body);
      expect(r.status, body).toBe(400);
      expect(r.body).toMatchObject({ code: 'CR_API_MALFORMED_JSON' });
      expect(r.text).not.toContain('trailing');
    }
    expect((await h.request('POST', '/agents', '')).body).toMatchObject({ code: 'CR_API_VALIDATION' });
    expect((await h.request('POST', '/agents', '[]')).body).toMatchObject({ code: 'CR_API_VALIDATION' });
    expect((await h.request('POST', '/agents', 'null')).status).toBe(400);
  });

  it('400 for JSON nested deeper than 32 levels, however deep, without a stack overflow', async () => {
    await h.close();
    h = await startApiHarness({ listen: true, api: { maxBodyBytes: 8 * 1024 * 1024 } });
    for (const depth of [40, 1_000, 1_000_000]) {
      const body = `{"name":"deep","description":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const r = await h.request('POST', '/agents', body);
      expect(r.status, String(depth)).toBe(400);
      expect(r.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ message: expect.stringContaining('deeper than 32') }] });
    }
    const objects = `${'{"a":'.repeat(100)}1${'}'.repeat(100)}`;
    expect((await h.request('PATCH', '/agents/x', objects)).status).toBe(400);
    expect((await h.request('GET', '/healthz')).status).toBe(200);
  });

  it('400 for text that is not well-formed Unicode, and for __proto__ keys', async () => {
    const lone = await h.request('POST', '/agents', '{"name":"u","description":"bad \\ud800 surrogate"}');
    expect(lone.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: 'description', message: expect.stringContaining('surrogate') }] });
    const key = await h.request('POST', '/agents', '{"name":"u","turn":{"\\udc00":1}}');
    expect(key.status).toBe(400);
    const proto = await h.request('POST', '/agents', '{"name":"p","__proto__":{"polluted":true}}');
    expect(proto.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: '__proto__' }] });
    const nestedProto = await h.request('PATCH', '/agents/x', '{"llm":{"__proto__":{"polluted":true}}}');
    expect(nestedProto.status).toBe(400);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(await counts()).toEqual({ agents: 0, tools: 0 });
  });
});

describe('names and text', () => {
  it('unicode: names are refused with the reason (they are SIP users and URL segments); other text round-trips', async () => {
    for (const name of ['café', '工具', 'a b', '👋', 'x\u202ey', '']) {
      const r = await h.request('POST', '/agents', { name });
      expect(r.status, name).toBe(400);
      expect((r.body as { details: Array<{ path: string }> }).details.map((d) => d.path)).toContain('name');
      expect((await h.request('POST', '/agent-tools', { type: 'client', definition: { name, description: 'd' } })).status).toBe(400);
    }
    const text = 'Grüße 👋🏽 日本語 العربية \u202e\u0000 tab\t';
    const a = await h.request('POST', '/agents', { name: 'polyglot', description: text, greeting: text });
    expect(a.status).toBe(201);
    expect((await h.request('GET', `/agents/${(a.body as { id: string }).id}`)).body).toMatchObject({ description: text, greeting: text });
    expect((await h.request('GET', `/agents?search=${encodeURIComponent('日本')}`)).body).toMatchObject({ total: 1 });
  });

  it('SQL-looking strings are data: refused where a name pattern applies, stored verbatim elsewhere, searches find nothing extra', async () => {
    const before = await counts();
    expect((await h.request('POST', '/agents', { name: "x'); DROP TABLE agents;--" })).status).toBe(400);
    const sql = "'; DELETE FROM agent_tools; SELECT * FROM agents WHERE '1'='1";
    const t = await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'sqlish', description: sql } });
    expect(t.status).toBe(201);
    expect((await h.request('GET', `/agent-tools/${(t.body as { id: string }).id}`)).body).toMatchObject({ definition: { description: sql } });
    // Only '_' occurs (in "agent_tools"); '%' and '_' are literal, quotes are just characters.
    const expected: Record<string, number> = { "' OR '1'='1": 0, "WHERE '1'='1": 1, '%': 0, '_': 1, "%' --": 0, '\\': 0, 'delete from': 1 };
    for (const [search, total] of Object.entries(expected)) {
      const r = await h.request('GET', `/agent-tools?search=${encodeURIComponent(search)}`);
      expect(r.status).toBe(200);
      expect((r.body as { total: number }).total, search).toBe(total);
    }
    expect(await counts()).toEqual({ agents: before.agents, tools: before.tools + 1 });
  });
});

describe('all or nothing', () => {
  it('an agent with one bad tool among good ones is not stored at all', async () => {
    const before = await counts();
    const good = { name: 'ok', description: 'd', httpMethod: 'GET', baseUrlPattern: 'https://a.example/x' };
    const r = await h.request('POST', '/agents', { name: 'partial', tools: { http: [good, { ...good, name: 'bad', baseUrlPattern: 'ftp://a.example' }] } });
    expect(r.status).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('the process keeps serving after all of the above', async () => {
    expect((await h.request('GET', '/healthz')).status).toBe(200);
    expect((await h.request('POST', '/agents', { name: 'after' })).status).toBe(201);
  });
});
