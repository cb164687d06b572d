/**
 * Plivo audio streams and Exotel Voicebot end to end: scripted platforms (hand-written frames) call an
 * agent. Plivo: `playAudio` out, `checkpoint` -> `playedStream`, `clearAudio`; the key as an extra header.
 * Exotel: L16 in ~100 ms media messages, ours at least 3.2 KB each, `mark` and `clear`.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { startTelephonyHarness, TEST_KEY } from '../../../support/telephony-harness.ts';
import { ExotelClient, PlivoClient } from '../../../support/telephony-json-clients.ts';
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

describe('Plivo and Exotel bridges', () => {
  it('Plivo: an agent call with playAudio, checkpoints, clearAudio, DTMF and stop', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/telephony/plivo', dialect: 'auto', apiKeys: [TEST_KEY] }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new PlivoClient(h.wsUrl('/telephony/plivo'), { token: TEST_KEY });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'plivo', leadMs: h.settings.playout.leadMs, marks: true });
    expect(h.events[0]).toMatchObject({ callId: `plivo-${client.callId}` });
    const play = client.peer?.texts.find((t) => t.json?.['event'] === 'playAudio')?.json;
    expect(play).toMatchObject({ event: 'playAudio', streamId: client.streamId, media: { contentType: 'audio/x-mulaw', sampleRate: 8000 } });
  });

  it('Exotel: an agent call at 8 kHz with media of at least 3.2 KB, marks, clear, DTMF and stop', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/telephony/exotel', dialect: 'exotel', apiKeys: [TEST_KEY] }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new ExotelClient(h.wsUrl('/telephony/exotel'), { token: TEST_KEY });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'exotel', leadMs: h.settings.playout.leadMs, frameMs: 200, marks: true });
    const sizes = (client.peer?.texts ?? [])
      .filter((t) => t.json?.['event'] === 'media')
      .map((t) => Buffer.from(String((t.json?.['media'] as Record<string, unknown>)['payload']), 'base64').length);
    expect(sizes.length).toBeGreaterThan(3);
    for (const n of sizes) {
      expect(n).toBeGreaterThanOrEqual(3200);
      expect(n % 320).toBe(0);
    }
  });
});
