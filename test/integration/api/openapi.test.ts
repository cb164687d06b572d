/**
 * The OpenAPI document is valid (checked by a real OpenAPI 3.1 schema validator), and every operation in
 * it answers as documented: each is called with a valid request and must answer a documented status with
 * a body that validates against the documented schema; each answers 401 without a key and, where it takes
 * an id, 404 for an unknown one, with the documented error body. A route added without an example here
 * fails the test.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiHarness, type ApiHarness, type ApiResponse } from '../../support/api-harness.ts';

type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }>; requestBody?: unknown };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

let h: ApiHarness;
let doc: Doc;
let resolved: Doc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat('uri', (s: string) => URL.canParse(s));

const ids = { agent: '', agent2: '', tool: '', tool2: '', call: '', call2: '', webhook: '' };

beforeAll(async () => {
  h = await startApiHarness();
  const r = await h.request('GET', '/openapi.json', undefined, {});
  expect(r.status).toBe(200);
  doc = r.body as Doc;
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc) as unknown as Parameters<Validator['validate']>[0]);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  expect(result.valid).toBe(true);
  resolved = validator.resolveRefs() as Doc;
  ids.agent = ((await h.request('POST', '/agents', { name: 'fixture' })).body as { id: string }).id;
  ids.tool = ((await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'fixtureTool', description: 'd' } })).body as { id: string }).id;
  ids.tool2 = ((await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'fixtureTool2', description: 'd' } })).body as { id: string }).id;
  await h.request('POST', `/agents/${ids.agent}/tools`, { toolIds: [ids.tool] });
  ids.call = ((await h.request('POST', '/calls', { agentId: ids.agent, medium: { type: 'websocket', inputSampleRate: 8000, outputSampleRate: 8000 } })).body as { callId: string }).callId;
  await h.storage.calls.appendTranscript(ids.call, { role: 'user', text: 'hello', atMs: 5, interrupted: false });
  await h.storage.calls.appendToolCall(ids.call, { toolCallId: 'x', name: 'fixtureTool', startedAtMs: 6, durationMs: 7, outcome: 'ok', resultPreview: '{}' });
  await h.storage.calls.appendTurn(ids.call, { turn: 1, marks: [{ name: 'speech_end', atMs: 1 }, { name: 'tts_first_audio', atMs: 9 }] });
  ids.call2 = ((await h.request('POST', '/calls', { agent: { name: 'inline' }, medium: { type: 'sip', to: '+15550100', from: 'sip:a@b.example', trunk: 't' } })).body as { callId: string }).callId;
  ids.webhook = ((await h.request('POST', '/webhooks', { url: 'https://hooks.example/x' })).body as { id: string }).id;
  ids.agent2 = ((await h.request('POST', '/agents', { name: 'fixture2' })).body as { id: string }).id;
});

afterAll(async () => {
  await h?.close();
});

interface Example {
  readonly path: () => string;
  readonly body?: () => unknown;
  readonly status: number;
  /** The same request with an unknown id: 404. */
  readonly missing?: () => string;
}

/** One valid request per operation, in an order where deletes come last. */
const EXAMPLES: Record<string, Example> = {
  listAgents: { path: () => '/agents?page=1&limit=10&search=fix', status: 200 },
  createAgent: { path: () => '/agents', body: () => ({ name: 'created', greeting: 'hi' }), status: 201 },
  getAgent: { path: () => `/agents/${ids.agent}`, status: 200, missing: () => '/agents/nope' },
  updateAgent: { path: () => `/agents/${ids.agent}`, body: () => ({ greeting: 'hello' }), status: 200, missing: () => '/agents/nope' },
  listAgentToolAssignments: { path: () => `/agents/${ids.agent}/tools`, status: 200, missing: () => '/agents/nope/tools' },
  assignAgentTools: { path: () => `/agents/${ids.agent2}/tools`, body: () => ({ toolIds: [ids.tool2] }), status: 200, missing: () => '/agents/nope/tools' },
  listAgentTools: { path: () => '/agent-tools?type=client&search=fixture', status: 200 },
  listSystemTools: { path: () => '/agent-tools/system', status: 200 },
  createAgentTool: {
    path: () => '/agent-tools',
    body: () => ({ type: 'http', definition: { name: 'h', description: 'd', httpMethod: 'POST', baseUrlPattern: 'https://x.example/a', dynamicParameters: [{ name: 'q', location: 'body' }], automaticParameters: [{ name: 'k', location: 'header', knownValue: 'secret-1234567890' }] } }),
    status: 201,
  },
  getAgentTool: { path: () => `/agent-tools/${ids.tool}`, status: 200, missing: () => '/agent-tools/nope' },
  updateAgentTool: { path: () => `/agent-tools/${ids.tool}`, body: () => ({ definition: { description: 'new' } }), status: 200, missing: () => '/agent-tools/nope' },
  createCall: { path: () => '/calls', body: () => ({ agentId: ids.agent, medium: { type: 'websocket', inputSampleRate: 48000, outputSampleRate: 24000 } }), status: 201 },
  listCalls: { path: () => '/calls?state=starting', status: 200 },
  getCall: { path: () => `/calls/${ids.call}`, status: 200, missing: () => '/calls/nope' },
  issueCallControlUrl: { path: () => `/calls/${ids.call}/control`, status: 201, missing: () => '/calls/nope/control' },
  listWebhooks: { path: () => '/webhooks', status: 200 },
  createWebhook: { path: () => '/webhooks', body: () => ({ url: 'https://hooks.example/y', secret: 'a'.repeat(16), events: ['call.ended'] }), status: 201 },
  getWebhook: { path: () => `/webhooks/${ids.webhook}`, status: 200, missing: () => '/webhooks/nope' },
  updateWebhook: { path: () => `/webhooks/${ids.webhook}`, body: () => ({ events: null }), status: 200, missing: () => '/webhooks/nope' },
  hangUpCall: { path: () => `/calls/${ids.call2}`, status: 204, missing: () => '/calls/nope' },
  unassignAgentTool: { path: () => `/agents/${ids.agent2}/tools/${ids.tool2}`, status: 204, missing: () => `/agents/nope/tools/${ids.tool2}` },
  deleteAgentTool: { path: () => `/agent-tools/${ids.tool2}`, status: 204, missing: () => '/agent-tools/nope' },
  deleteWebhook: { path: () => `/webhooks/${ids.webhook}`, status: 204, missing: () => '/webhooks/nope' },
  deleteAgent: { path: () => `/agents/${ids.agent2}`, status: 204, missing: () => '/agents/nope' },
};

function operations(d: Doc): Array<{ method: string; path: string; op: Operation }> {
  return Object.entries(d.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));
}

function checkAgainstDoc(op: Operation, r: ApiResponse, label: string): void {
  const documented = op.responses[String(r.status)];
  expect(documented, `${label}: status ${r.status} is not documented (${r.text.slice(0, 300)})`).toBeDefined();
  const schema = documented?.content?.['application/json']?.schema;
  if (schema === undefined) {
    expect(r.text, `${label}: ${r.status} is documented without a body`).toBe('');
    return;
  }
  const validate = ajv.compile(schema as object);
  expect(validate(r.body), `${label} ${r.status}: ${JSON.stringify(validate.errors)}`).toBe(true);
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and documents exactly the operations exemplified here', () => {
    expect(doc.openapi).toBe('3.1.0');
    const documented = operations(doc).map((o) => o.op.operationId).sort();
    expect(documented).toEqual(Object.keys(EXAMPLES).sort());
    expect(JSON.stringify(doc)).not.toMatch(/\/docs|openapi\.json/);
  });

  it('every operation answers its success as documented', async () => {
    const ops = new Map(operations(resolved).map((o) => [o.op.operationId, o]));
    for (const [operationId, ex] of Object.entries(EXAMPLES)) {
      const o = ops.get(operationId);
      if (o === undefined) throw new Error(`no operation ${operationId}`);
      const r = await h.request(o.method, ex.path(), ex.body?.());
      expect(r.status, `${operationId}: ${r.text.slice(0, 400)}`).toBe(ex.status);
      checkAgainstDoc(o.op, r, operationId);
    }
  });

  it('every operation answers 401 without a key and 404 for unknown ids, as documented', async () => {
    const ops = new Map(operations(resolved).map((o) => [o.op.operationId, o]));
    for (const [operationId, ex] of Object.entries(EXAMPLES)) {
      const o = ops.get(operationId);
      if (o === undefined) throw new Error(`no operation ${operationId}`);
      const noKey = await h.request(o.method, ex.path(), ex.body?.(), { 'x-api-key': '' });
      expect(noKey.status, operationId).toBe(401);
      checkAgainstDoc(o.op, noKey, `${operationId} without key`);
      if (ex.missing !== undefined) {
        const r = await h.request(o.method, ex.missing(), ex.body?.());
        expect(r.status, `${operationId} unknown id: ${r.text}`).toBe(404);
        checkAgainstDoc(o.op, r, `${operationId} unknown id`);
      }
      if (o.op.requestBody !== undefined) {
        const r = await h.request(o.method, ex.path(), { definitely: 'not valid' });
        if (r.status !== 404) {
          expect(r.status, `${operationId} bad body`).toBe(400);
          checkAgainstDoc(o.op, r, `${operationId} bad body`);
        }
      }
    }
  });
});

describe('/docs', () => {
  it('serves Swagger UI and every asset it loads from this server, under a self-only CSP', async () => {
    const page = await h.request('GET', '/docs', undefined, {});
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/https?:|upgrade-insecure-requests/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(ref, 'asset outside this server').toMatch(/^\/docs\//);
      const asset = await h.request('GET', ref, undefined, {});
      expect(asset.status, ref).toBe(200);
    }
    const init = await h.request('GET', '/docs/static/swagger-initializer.js', undefined, {});
    expect(init.text).toContain('"validatorUrl":null');
    expect(init.text).toContain("resolveUrl('./json')");
    const json = await h.request('GET', '/docs/json', undefined, {});
    expect(json.body).toEqual(doc);
  });
});
