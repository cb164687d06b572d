/**
 * Telnyx media streaming end to end: a scripted Telnyx (hand-written frames) whose media arrive out of
 * order calls an agent; then the other codecs (L16 big-endian at 16 kHz, PCMA) and the refusal of one we
 * do not speak.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runEcho } from '../../../../src/call/echo.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { playRealtime, waitFor } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY, type TelephonyHarness } from '../../../support/telephony-harness.ts';
import { TelnyxClient } from '../../../support/telephony-json-clients.ts';
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

const endpoint = { path: '/telephony/telnyx', dialect: 'telnyx', apiKeys: [TEST_KEY] };

async function harness(o: Partial<Parameters<typeof startTelephonyHarness>[0]> = {}): Promise<TelephonyHarness> {
  const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, startCall: (leg) => runEcho(leg, silentLogger()), ...o });
  cleanup.push(() => h.close());
  return h;
}

function tone(rate: number, ms: number): Int16Array {
  const out = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate));
  return out;
}

describe('Telnyx media streaming bridge', () => {
  it('carries an agent call with media out of order: question, paced reply with marks, clear, DTMF, hang-up', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await harness({ agent, vad: models.vad, startCall: undefined });
    const client = new TelnyxClient(h.wsUrl(endpoint.path), { token: TEST_KEY, shuffle: true });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'telnyx', leadMs: h.settings.playout.leadMs, marks: true });
    expect(h.events[0]).toMatchObject({ callId: `telnyx-${client.callControlId}`, origin: { from: '+13122010094', to: '+13122123456' } });
  });

  it('puts swapped frames back in order before the call hears them', async () => {
    const received: Int16Array[] = [];
    const h = await harness({
      startCall: async (leg) => {
        leg.onFrame((f) => received.push(f.samples.slice()));
        await leg.answer();
        await leg.ended;
      },
    });
    const client = new TelnyxClient(h.wsUrl(endpoint.path), { token: TEST_KEY, encoding: 'L16', sampleRate: 16000, shuffle: true });
    cleanup.push(() => client.close());
    await client.start();
    // Each frame holds its index as a constant: the call must hear 0, 1, 2, ... despite the swaps.
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 20; i++) client.sendFrame(new Int16Array(320).fill(100 * (i + 1)));
    await waitFor(() => received.length >= 20, 2000, '20 frames');
    expect(received.map((f) => f[0])).toEqual(Array.from({ length: 20 }, (_, i) => 100 * (i + 1)));
    await client.hangup();
  });

  it('echoes L16 at 16 kHz in network byte order', async () => {
    const h = await harness();
    const client = new TelnyxClient(h.wsUrl(endpoint.path), { token: TEST_KEY, encoding: 'L16', sampleRate: 16000 });
    cleanup.push(() => client.close());
    await client.start();
    await playRealtime(client, tone(16000, 400));
    await waitFor(() => client.heard.filter((f) => f.rms > 4000).length >= 10, 2000, 'loud echo');
    await client.hangup();
  });

  it('refuses a codec it does not speak (OPUS) before any call exists', async () => {
    let calls = 0;
    const h = await harness({ startCall: async () => void calls++ });
    const peer = await WsPeer.connect(h.wsUrl(endpoint.path, { token: TEST_KEY }));
    cleanup.push(() => peer.close());
    peer.sendText('{"event":"connected","version":"1.0.0"}');
    peer.sendText('{"event":"start","sequence_number":"1","start":{"call_control_id":"v3:x","media_format":{"encoding":"OPUS","sample_rate":16000,"channels":1}},"stream_id":"s1"}');
    const closed = await peer.closed;
    expect(closed.code).toBe(1003);
    expect(closed.reason).toMatch(/OPUS/);
    expect(calls).toBe(0);
  });
});
