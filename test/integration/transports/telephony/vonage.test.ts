/**
 * Vonage Voice WebSocket end to end: a scripted Vonage (first message `websocket:connected` with the
 * content type, binary L16 16 kHz, `notify` echoed as `websocket:notify`, `clear`) calls an agent.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { VonageClient } from '../../../support/telephony-binary-clients.ts';
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

describe('Vonage Voice WebSocket bridge', () => {
  it('carries an agent call at 16 kHz: question, paced reply with notify marks, clear, DTMF, hang-up', async () => {
    const { agent, llm, stt } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/telephony/vonage', dialect: 'vonage', apiKeys: [TEST_KEY] }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new VonageClient(h.wsUrl('/telephony/vonage'), { token: TEST_KEY, rate: 16000 });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'vonage', leadMs: h.settings.playout.leadMs, marks: true });
    expect(h.events[0]).toMatchObject({ callId: 'vonage-aaaaaaaa-bbbb-cccc-dddd-0123456789ab', origin: { from: '447700900000', to: '447700900001' } });
    expect(stt.opened[0]).toMatchObject({ sampleRate: 16000, encoding: 'pcm_s16le' });
    // Every outbound frame is 20 ms of 16 kHz L16 (640 bytes): the size Vonage sends.
    expect(new Set(client.peer?.binaries.map((b) => b.bytes.length))).toEqual(new Set([640]));
  });
});
