/**
 * Genesys AudioHook (bot variant) end to end: a scripted Genesys (open with media offers, binary PCMU,
 * ping, dtmf, close) calls an agent; we answer `opened` choosing the mono external channel, send 1,600-byte
 * packets, a `barge_in` event on barge-in, `pong`, `closed`; stereo takes the external (left) channel.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { GenesysClient } from '../../../support/telephony-binary-clients.ts';
import { waitFor } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY } from '../../../support/telephony-harness.ts';
import { loadScenarioModels, runAgentScenario, scenarioAgent, type ScenarioModels } from '../../../support/telephony-scenario.ts';

let models: ScenarioModels;
beforeAll(async () => {
  models = await loadScenarioModels();
  return () => models.close();
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const endpoint = { path: '/telephony/genesys', dialect: 'auto', apiKeys: [TEST_KEY] };

describe('Genesys AudioHook bridge (bot variant)', () => {
  it('carries an agent call: opened, PCMU in 1,600-byte packets, barge_in event, dtmf, close/closed', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new GenesysClient(h.wsUrl(endpoint.path), { apiKey: TEST_KEY });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'genesys', leadMs: h.settings.playout.leadMs, frameMs: 200, marks: false });
    const opened = client.received.find((m) => m.type === 'opened')?.message;
    expect(opened).toMatchObject({ version: '2', id: client.sessionId, seq: 1, clientseq: 1, parameters: { media: [{ type: 'audio', format: 'PCMU', channels: ['external'], rate: 8000 }] } });
    expect(h.events[0]).toMatchObject({ callId: 'genesys-090eaa2f-72fa-480a-83e0-8667ff89c0ec', origin: { from: '+1-555-555-1234', to: '+1-800-555-6789' } });
    expect(new Set(client.peer?.binaries.map((b) => b.bytes.length))).toEqual(new Set([1600]));
    expect(client.received.map((m) => m.type)).toContain('closed');
  });

  it('stereo: hears the external (left) channel; ping gets pong; the agent hanging up sends disconnect', async () => {
    let leg: CallLeg | undefined;
    const frames: Int16Array[] = [];
    const h = await startTelephonyHarness({
      telephony: { endpoints: [endpoint] },
      startCall: async (l) => {
        leg = l;
        l.onFrame((f) => frames.push(f.samples.slice()));
        await l.answer();
        await l.ended;
      },
    });
    cleanup.push(() => h.close());
    const client = new GenesysClient(h.wsUrl(endpoint.path), { stereo: true, token: TEST_KEY });
    cleanup.push(() => client.close());
    await client.start();
    await waitFor(() => leg !== undefined, 2000, 'the leg');
    await new Promise((r) => setTimeout(r, 50));
    client.sendFrame(new Int16Array(160).fill(8000));
    await waitFor(() => frames.length > 0, 1000, 'a frame');
    expect(Math.min(...(frames[0] as Int16Array))).toBeGreaterThan(7000);
    client.ping();
    await waitFor(() => client.received.some((m) => m.type === 'pong'), 1000, 'pong');
    await (leg as CallLeg).hangup();
    await waitFor(() => client.received.some((m) => m.type === 'disconnect'), 1000, 'disconnect');
    expect(client.received.find((m) => m.type === 'disconnect')?.message).toMatchObject({ parameters: { reason: 'completed' } });
  });
});
