/**
 * `callroom calls show ID` against the real REST API (SQLite storage, a call record with its turns) over a
 * socket: the waterfall it draws, and how it fails (unknown call, wrong key, nothing listening, bad usage).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callsCommand } from '../../../src/cli/calls-command.ts';
import { renderCall } from '../../../src/cli/waterfall.ts';
import { startApiHarness, TEST_API_KEY, type ApiHarness } from '../../support/api-harness.ts';

let h: ApiHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await callsCommand(args, (t) => (out += t), (t) => (err += t));
  return { code, out, err };
}

describe('callroom calls show', () => {
  it('draws each turn as a waterfall on one scale, from GET /calls/{id}', async () => {
    h = await startApiHarness({ listen: true });
    const created = Date.parse('2026-01-02T03:04:05.000Z');
    await h.storage.calls.create({ id: 'call-42', agentId: null, agentName: 'support', medium: { type: 'sip', direction: 'inbound', from: 'sip:alice@a', to: 'sip:support@b' }, createdAt: created });
    await h.storage.calls.markAnswered('call-42', created + 500);
    const marks = (base: number, steps: Array<[string, number]>) => steps.map(([name, d]) => ({ name, atMs: base + d }));
    await h.storage.calls.appendTurn('call-42', { turn: 1, marks: marks(2000, [['speechEnd', 0], ['sttFinal', 150], ['turnDecided', 400], ['llmFirstToken', 900], ['firstAudio', 1200], ['firstPacket', 1220], ['ended', 3000]]) });
    await h.storage.calls.appendTurn('call-42', { turn: 2, marks: marks(8000, [['speechEnd', 0], ['turnDecided', 300], ['llmFirstToken', 600], ['firstAudio', 800], ['firstPacket', 815], ['bargeIn', 1500], ['ended', 1500]]) });
    await h.storage.calls.appendToolCall('call-42', { toolCallId: 't1', name: 'lookup_order', startedAtMs: 2500, durationMs: 120, outcome: 'ok' });
    await h.storage.calls.markEnded('call-42', created + 12_000, 'caller-hangup');

    const r = await run(['show', 'call-42', '--url', h.baseUrl as string, '--api-key', TEST_API_KEY]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('call call-42');
    expect(r.out).toContain('agent support · sip inbound sip:alice@a -> sip:support@b');
    expect(r.out).toContain('ended (caller-hangup) · 12.0 s');
    expect(r.out).toContain('turn 1 · 3,000 ms');
    expect(r.out).toContain('turn 2 · 1,500 ms');
    expect(r.out).toContain('lookup_order · ok · 120 ms');
    // Bars sit on one axis: 48 columns for the longest turn (3,000 ms); LLM first token of turn 1 runs from
    // 400 ms (col 6) to 900 ms (col 14).
    const llm = lines.find((l) => l.includes('LLM first token') && l.includes('900 ms')) as string;
    const bar = llm.slice(llm.indexOf('|') + 1, llm.lastIndexOf('|'));
    expect(bar).toHaveLength(48);
    expect(bar.indexOf('█')).toBe(6);
    expect(bar.lastIndexOf('█')).toBe(13);
    expect(llm).toContain('+500 ms');
    expect(r.out).toMatch(/first packet out\s+1,220 ms/);
    expect(r.out).toMatch(/barge-in\s+1,500 ms/);
  });

  it('says what went wrong: unknown call, wrong key, nothing listening, bad usage', async () => {
    h = await startApiHarness({ listen: true });
    const url = h.baseUrl as string;
    expect(await run(['show', 'nope', '--url', url, '--api-key', TEST_API_KEY])).toMatchObject({ code: 1, err: expect.stringContaining('404') });
    expect(await run(['show', 'nope', '--url', url, '--api-key', 'wrong-key-000000000'])).toMatchObject({ code: 1, err: expect.stringContaining('401') });
    expect(await run(['show', 'x', '--url', 'http://127.0.0.1:1'])).toMatchObject({ code: 1, err: expect.stringContaining('cannot reach') });
    expect((await run(['list'])).code).toBe(2);
    expect((await run(['show'])).code).toBe(2);
    expect((await run(['show', 'x', '--bogus'])).code).toBe(2);
  });

  it('draws a call without turns', () => {
    const text = renderCall({ id: 'c', agentName: 'a', medium: { type: 'websocket' }, state: 'active', createdAt: 'now', answeredAt: null, endedAt: null, endReason: null, durationMs: null, turns: [] });
    expect(text).toContain('active · running');
    expect(text).toContain('no turns');
  });
});
