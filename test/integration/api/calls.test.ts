import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallroomError } from '../../../src/core/errors.ts';
import { JoinTokenError } from '../../../src/core/join-token.ts';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await startApiHarness({ api: { maxConcurrentCalls: 2, maxCallSeconds: 600, sipTrunks: ['carrier'] } });
});
afterEach(async () => {
  await h.close();
});

const WS = { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 24000 };
type Created = { callId: string; joinUrl?: string; joinUrlExpiresAt?: string };

async function agentWithTool(): Promise<{ agentId: string; toolId: string }> {
  const a = (await h.request('POST', '/agents', { name: 'bot', greeting: 'hi' })).body as { id: string };
  const t = (await h.request('POST', '/agent-tools', { type: 'client', definition: { name: 'showMap', description: 'd' } })).body as { id: string };
  await h.request('POST', `/agents/${a.id}/tools`, { toolIds: [t.id] });
  return { agentId: a.id, toolId: t.id };
}

describe('POST /calls', () => {
  it('websocket: 201 with a joinUrl whose token verifies once for this call; the port gets the agent and its tools', async () => {
    const { agentId, toolId } = await agentWithTool();
    const r = await h.request('POST', '/calls', { agentId, medium: WS, metadata: { crm: '42' } }, { host: 'gw.example:8443' });
    expect(r.status, r.text).toBe(201);
    const c = r.body as Created;
    expect(r.headers.location).toBe(`/calls/${c.callId}`);
    const url = new URL(c.joinUrl as string);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('ws://gw.example:8443/ws/join');
    const token = url.searchParams.get('token');
    expect(Date.parse(c.joinUrlExpiresAt as string)).toBeGreaterThan(Date.now());
    expect((await h.joinTokens.verify(token)).callId).toBe(c.callId);
    await expect(h.joinTokens.verify(token)).rejects.toBeInstanceOf(JoinTokenError);
    const started = h.calls.started[0];
    expect(started).toMatchObject({ agentId, agent: { name: 'bot', greeting: 'hi' }, medium: WS, metadata: { crm: '42' }, maxDurationSeconds: 600 });
    expect(started?.tools.map((t) => t.id)).toEqual([toolId]);
  });

  it('uses http.publicUrl for the joinUrl (https becomes wss) and the configured join path', async () => {
    await h.close();
    h = await startApiHarness({ api: { publicUrl: 'https://voice.example.com/', joinPath: '/media/ws' } });
    const c = (await h.request('POST', '/calls', { agent: { name: 'inline' }, medium: WS })).body as Created;
    expect(c.joinUrl).toMatch(/^wss:\/\/voice\.example\.com\/media\/ws\?token=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('an inline agent is validated and passed whole; secrets in it stay out of the response', async () => {
    const r = await h.request('POST', '/calls', { agent: { name: 'inline', llm: { apiKey: 'sk-0123456789abcdef' } }, medium: WS });
    expect(r.status).toBe(201);
    expect(r.text).not.toContain('sk-0123');
    expect(h.calls.started[0]).toMatchObject({ agentId: null, tools: [], agent: { name: 'inline', llm: { apiKey: 'sk-0123456789abcdef' } } });
  });

  it('sip dial-out: 201 without a joinUrl; an unknown trunk is a 400', async () => {
    const { agentId } = await agentWithTool();
    const r = await h.request('POST', '/calls', { agentId, medium: { type: 'sip', to: '+14155550123', from: 'sip:bot@gw.example', trunk: 'carrier' } });
    expect(r.status, r.text).toBe(201);
    // No joinUrl (the call is dialled out), but a control socket URL for the application's client tools.
    expect(r.body).toEqual({ callId: expect.any(String), controlUrl: expect.stringMatching(/^ws:\/\/.+\/ws\/control\?token=.+&callId=/), controlUrlExpiresAt: expect.any(String) });
    const bad = await h.request('POST', '/calls', { agentId, medium: { type: 'sip', to: '+1', from: '+2', trunk: 'nope' } });
    expect(bad.body).toMatchObject({ code: 'CR_API_VALIDATION', details: [{ path: 'medium.trunk' }] });
  });

  it('400s: both or neither agent, bad sample rate, SIP fields on a websocket medium, too long a call', async () => {
    const { agentId } = await agentWithTool();
    const cases: Array<[unknown, string]> = [
      [{ medium: WS }, 'agentId'],
      [{ agentId, agent: { name: 'x' }, medium: WS }, 'agentId'],
      [{ agentId, medium: { ...WS, inputSampleRate: 11025 } }, 'medium.inputSampleRate'],
      [{ agentId, medium: { ...WS, to: '+1' } }, 'medium'],
      [{ agentId, medium: WS, maxDurationSeconds: 601 }, 'maxDurationSeconds'],
      [{ agent: { name: 'bad name!' }, medium: WS }, 'agent.name'],
    ];
    for (const [body, path] of cases) {
      const r = await h.request('POST', '/calls', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.body as { details: Array<{ path: string }> }).details.map((d) => d.path), JSON.stringify(body)).toContain(path);
    }
    expect(h.calls.started).toHaveLength(0);
  });

  it('404 for an unknown agentId', async () => {
    const r = await h.request('POST', '/calls', { agentId: 'nope', medium: WS });
    expect(r.status).toBe(404);
    expect(h.calls.started).toHaveLength(0);
  });

  it('429 beyond limits.maxConcurrentCalls, counting starts still in progress', async () => {
    let open: () => void = () => undefined;
    h.calls.gate = new Promise<void>((resolve) => (open = resolve));
    const body = { agent: { name: 'x' }, medium: WS };
    const inFlight = [h.request('POST', '/calls', body), h.request('POST', '/calls', body)];
    await new Promise((r) => setTimeout(r, 20));
    const third = await h.request('POST', '/calls', body);
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'CR_API_TOO_MANY_CALLS' });
    expect(third.headers['retry-after']).toBe('1');
    open();
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual([201, 201]);
    h.calls.gate = undefined;
    expect((await h.request('POST', '/calls', body)).status).toBe(429);
    const id = [...h.calls.live][0] as string;
    expect((await h.request('DELETE', `/calls/${id}`)).status).toBe(204);
    expect((await h.request('POST', '/calls', body)).status).toBe(201);
  });

  it("maps the call layer's refusals: CR_CALL_LIMIT 429, CR_CALL_DRAINING 503, CR_CALL_AGENT_INVALID 400, anything else 500", async () => {
    const body = { agent: { name: 'x' }, medium: WS };
    const cases: Array<[unknown, number, string]> = [
      [new CallroomError('CR_CALL_LIMIT', 'full'), 429, 'CR_API_TOO_MANY_CALLS'],
      [new CallroomError('CR_CALL_DRAINING', 'stopping'), 503, 'CR_API_UNAVAILABLE'],
      [new CallroomError('CR_CALL_AGENT_INVALID', 'no stt'), 400, 'CR_API_VALIDATION'],
      [new Error('boom'), 500, 'CR_API_INTERNAL'],
    ];
    for (const [err, status, code] of cases) {
      h.calls.failNext = err;
      const r = await h.request('POST', '/calls', body);
      expect(r.status).toBe(status);
      expect(r.body).toMatchObject({ code });
    }
    expect((await h.request('POST', '/calls', body)).status).toBe(201);
  });
});

describe('GET /calls and /calls/{id}', () => {
  it('the record as the call layer wrote it: transcript, tool calls with durations, end reason, latency waterfall', async () => {
    const c = (await h.request('POST', '/calls', { agent: { name: 'x' }, medium: WS })).body as Created;
    const s = h.storage.calls;
    const rec = await s.get(c.callId);
    await s.markAnswered(c.callId, (rec?.createdAt ?? 0) + 500);
    await s.appendTranscript(c.callId, { role: 'assistant', text: 'Hello, how can I help?', atMs: 600 });
    await s.appendTranscript(c.callId, { role: 'user', text: 'Where is order 42?', atMs: 3000 });
    await s.appendToolCall(c.callId, { toolCallId: 't1', name: 'lookupOrder', startedAtMs: 3400, durationMs: 180, outcome: 'ok', resultPreview: '{"status":"shipped"}' });
    await s.appendTurn(c.callId, {
      turn: 1,
      marks: [
        { name: 'speech_end', atMs: 3000 },
        { name: 'stt_final', atMs: 3150 },
        { name: 'llm_first_token', atMs: 3600 },
        { name: 'tts_first_audio', atMs: 3800 },
      ],
    });
    const live = (await h.request('GET', `/calls/${c.callId}`)).body;
    expect(live).toMatchObject({ state: 'active', endedAt: null, durationMs: null, transcript: [{ role: 'assistant' }, { role: 'user', text: 'Where is order 42?' }] });
    await s.markEnded(c.callId, (rec?.createdAt ?? 0) + 10_000, 'caller-hangup');
    const r = await h.request('GET', `/calls/${c.callId}`);
    expect(r.body).toMatchObject({
      id: c.callId,
      agentId: null,
      agentName: 'x',
      medium: WS,
      state: 'ended',
      endReason: 'caller-hangup',
      durationMs: 10_000,
      toolCalls: [{ name: 'lookupOrder', durationMs: 180, outcome: 'ok' }],
      turns: [
        {
          turn: 1,
          totalMs: 800,
          marks: [
            { name: 'speech_end', sinceTurnStartMs: 0, sincePreviousMs: 0 },
            { name: 'stt_final', sinceTurnStartMs: 150, sincePreviousMs: 150 },
            { name: 'llm_first_token', sinceTurnStartMs: 600, sincePreviousMs: 450 },
            { name: 'tts_first_audio', sinceTurnStartMs: 800, sincePreviousMs: 200 },
          ],
        },
      ],
    });
    expect((await h.request('GET', '/calls/nope')).status).toBe(404);
  });

  it('lists newest first with filters by state, agent and time, paged', async () => {
    const { agentId } = await agentWithTool();
    const a = (await h.request('POST', '/calls', { agentId, medium: WS })).body as Created;
    const b = (await h.request('POST', '/calls', { agent: { name: 'y' }, medium: WS })).body as Created;
    await h.request('DELETE', `/calls/${a.callId}`);
    const ids = async (q: string) => ((await h.request('GET', `/calls?${q}`)).body as { items: Array<{ id: string }> }).items.map((c) => c.id);
    expect(await ids('')).toEqual([b.callId, a.callId]);
    expect(await ids('state=ended')).toEqual([a.callId]);
    expect(await ids(`agentId=${agentId}`)).toEqual([a.callId]);
    expect(await ids(`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect(await ids(`until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toHaveLength(2);
    expect((await h.request('GET', '/calls?limit=1&page=2')).body).toMatchObject({ total: 2, totalPages: 2, items: [{ id: a.callId, state: 'ended', endReason: 'api-hangup' }] });
    for (const q of ['state=done', 'since=yesterday', 'limit=101']) expect((await h.request('GET', `/calls?${q}`)).status, q).toBe(400);
  });
});

describe('DELETE /calls/{id}', () => {
  it('204 for a live call, 409 once ended, 404 for an unknown id', async () => {
    const c = (await h.request('POST', '/calls', { agent: { name: 'x' }, medium: WS })).body as Created;
    expect((await h.request('DELETE', `/calls/${c.callId}`)).status).toBe(204);
    expect((await h.request('GET', `/calls/${c.callId}`)).body).toMatchObject({ state: 'ended', endReason: 'api-hangup' });
    const again = await h.request('DELETE', `/calls/${c.callId}`);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'CR_API_CALL_ENDED' });
    expect((await h.request('DELETE', '/calls/nope')).status).toBe(404);
  });
});
