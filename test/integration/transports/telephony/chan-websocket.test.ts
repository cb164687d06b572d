/**
 * Asterisk chan_websocket end to end: a scripted Asterisk (subprotocol `media`, plain-text MEDIA_START,
 * binary ulaw in 20 ms frames, MARK_MEDIA -> MEDIA_MARK_PROCESSED, FLUSH_MEDIA dropping marks silently)
 * calls an agent; then the JSON control format with slin16, XOFF/XON flow control, and HANGUP.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { ChanWebsocketClient } from '../../../support/telephony-binary-clients.ts';
import { waitFor } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY } from '../../../support/telephony-harness.ts';
import { loadScenarioModels, runAgentScenario, scenarioAgent, type ScenarioModels } from '../../../support/telephony-scenario.ts';
import { WsPeer } from '../../../support/telephony-ws-peer.ts';

let models: ScenarioModels;
beforeAll(async () => {
  models = await loadScenarioModels();
  return () => models.close();
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const endpoint = { path: '/telephony/asterisk', dialect: 'auto', apiKeys: [TEST_KEY] };

describe('Asterisk chan_websocket bridge', () => {
  it('carries an agent call (ulaw, plain-text control): ANSWER, marks, FLUSH_MEDIA, DTMF_END, hang-up', async () => {
    const { agent, llm, stt } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    // The key travels in the URI (`v(token=...)` in the dial string).
    const client = new ChanWebsocketClient(h.wsUrl(endpoint.path, { token: TEST_KEY }));
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'chan_websocket', leadMs: h.settings.playout.leadMs, marks: true });
    expect(h.events[0]).toMatchObject({ callId: `chan_websocket-${client.channelId}` });
    expect(client.peer?.ws.protocol).toBe('media');
    expect(client.commands[0]?.command).toBe('ANSWER');
    // Whole 20 ms ulaw frames only: Asterisk drops a partial one.
    const sizes = new Set(client.peer?.binaries.map((b) => b.bytes.byteLength));
    expect([...sizes]).toEqual([160]);
    expect(stt.opened[0]).toMatchObject({ sampleRate: 8000, encoding: 'mulaw' });
  });

  it('JSON control with slin16: sends nothing while Asterisk says MEDIA_XOFF, resumes on MEDIA_XON', async () => {
    let leg: CallLeg | undefined;
    const h = await startTelephonyHarness({
      telephony: { endpoints: [endpoint] },
      startCall: async (l) => {
        leg = l;
        await l.answer();
        await l.ended;
      },
    });
    cleanup.push(() => h.close());
    const client = new ChanWebsocketClient(h.wsUrl(endpoint.path, { token: TEST_KEY }), { format: 'slin16', json: true });
    cleanup.push(() => client.close());
    await client.start();
    await waitFor(() => leg !== undefined, 2000, 'the leg');
    const l = leg as CallLeg;
    expect(l.inputFormat).toEqual({ sampleRate: 16000, encoding: 'pcm_s16le' });
    void l.write({ samples: new Int16Array(16000 * 2).fill(3000), sampleRate: 16000, timestamp: 0 });
    await waitFor(() => (client.peer?.binaries.length ?? 0) >= 12, 2000, 'audio');
    client.xoff(true);
    await new Promise((r) => setTimeout(r, 50));
    const atXoff = client.peer?.binaries.length ?? 0;
    await new Promise((r) => setTimeout(r, 400));
    expect((client.peer?.binaries.length ?? 0) - atXoff).toBeLessThanOrEqual(1);
    client.xoff(false);
    await waitFor(() => (client.peer?.binaries.length ?? 0) > atXoff + 10, 2000, 'audio after XON');
    // JSON commands carry correlation ids; frames are 640 bytes (20 ms of slin16).
    expect(client.commands.find((c) => c.command === 'MARK_MEDIA')?.id).toMatch(/^cr-\d+$/);
    expect(new Set(client.peer?.binaries.map((b) => b.bytes.byteLength))).toEqual(new Set([640]));
    expect(l.mediaStats()['xoffs']).toBe(1);
    // Our hang-up is HANGUP.
    await l.hangup();
    await waitFor(() => client.commands.some((c) => c.command === 'HANGUP'), 1000, 'HANGUP');
  });

  it('refuses a format it does not speak (opus) and a connection without the key', async () => {
    const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, startCall: async () => undefined });
    cleanup.push(() => h.close());
    const opus = await WsPeer.connect(h.wsUrl(endpoint.path, { token: TEST_KEY }), 'media');
    cleanup.push(() => opus.close());
    opus.sendText('MEDIA_START connection_id:c channel:WebSocket/c/0x1 channel_id:1.1 format:opus optimal_frame_size:0 ptime:20');
    expect((await opus.closed).code).toBe(1003);
    const keyless = await WsPeer.connect(h.wsUrl(endpoint.path), 'media');
    cleanup.push(() => keyless.close());
    keyless.sendText('MEDIA_START connection_id:c channel:WebSocket/c/0x1 channel_id:1.2 format:ulaw optimal_frame_size:160 ptime:20');
    expect((await keyless.closed).code).toBe(1008);
  });
});
