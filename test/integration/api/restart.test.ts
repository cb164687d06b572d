import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JoinTokenError } from '../../../src/core/join-token.ts';
import { startApiHarness, type ApiHarness } from '../../support/api-harness.ts';

let dir: string;
let h: ApiHarness | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-restart-'));
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('restart', () => {
  it('agents, tools, assignments, webhooks, call records and used join tokens survive closing and reopening the data directory', async () => {
    const dataDir = join(dir, 'data');
    h = await startApiHarness({ dataDir });
    const agents: Array<{ id: string }> = [];
    for (const name of ['alpha', 'beta', 'gamma']) agents.push((await h.request('POST', '/agents', { name, greeting: `I am ${name} ✓`, llm: { apiKey: 'sk-restart-0123456789' } })).body as { id: string });
    const tool = (await h.request('POST', '/agent-tools', {
      type: 'http',
      definition: { name: 'orders', description: 'd', httpMethod: 'GET', baseUrlPattern: 'https://o.example/{id}', dynamicParameters: [{ name: 'id', location: 'path' }], automaticParameters: [{ name: 'k', location: 'header', knownValue: 'key-restart-0123456789' }] },
    })).body as { id: string };
    await h.request('POST', `/agents/${agents[1]?.id}/tools`, { toolIds: [tool.id] });
    await h.request('PATCH', `/agents/${agents[2]?.id}`, { description: 'patched' });
    await h.request('DELETE', `/agents/${agents[0]?.id}`);
    const hook = (await h.request('POST', '/webhooks', { url: 'https://hooks.example/r', events: ['call.ended'] })).body as { id: string; secret: string };
    const call = (await h.request('POST', '/calls', { agentId: agents[1]?.id, medium: { type: 'websocket', inputSampleRate: 16000, outputSampleRate: 16000 } })).body as { callId: string; joinUrl: string };
    await h.storage.calls.appendTranscript(call.callId, { role: 'user', text: 'before restart', atMs: 10 });
    const token = new URL(call.joinUrl).searchParams.get('token');
    await h.joinTokens.verify(token);

    const snapshot = async (x: ApiHarness) => ({
      agents: (await x.request('GET', '/agents')).body,
      tools: (await x.request('GET', '/agent-tools')).body,
      assigned: (await x.request('GET', `/agents/${agents[1]?.id}/tools`)).body,
      call: (await x.request('GET', `/calls/${call.callId}`)).body,
      hook: (await x.request('GET', `/webhooks/${hook.id}`)).body,
    });
    const before = await snapshot(h);
    await h.close();

    h = await startApiHarness({ dataDir });
    expect(await snapshot(h)).toEqual(before);
    expect(before.agents).toMatchObject({ total: 2, items: [{ name: 'beta' }, { name: 'gamma', description: 'patched' }] });
    expect(before.call).toMatchObject({ transcript: [{ text: 'before restart' }] });
    // The stored endpoint is delivering again, with its secret.
    expect(h.webhooks.endpoint(hook.id)?.target).toMatchObject({ url: 'https://hooks.example/r', secret: hook.secret, events: ['call.ended'] });
    // Secrets are kept in full in storage, masked in answers.
    expect((await h.storage.agents.get(agents[1]?.id as string))?.spec.llm.apiKey).toBe('sk-restart-0123456789');
    // A token used before the restart stays used.
    await expect(h.joinTokens.verify(token)).rejects.toBeInstanceOf(JoinTokenError);
    // And the store keeps working.
    expect((await h.request('POST', '/agents', { name: 'delta' })).status).toBe(201);
    expect((await h.request('POST', '/agents', { name: 'BETA' })).status).toBe(409);
  });
});
