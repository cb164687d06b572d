/**
 * jambonz `listen` end to end: a scripted jambonz (subprotocol audio.jambonz.org, call attributes first,
 * binary L16, `mark` -> `playout`/`cleared`, `killAudio`) calls an agent, with bidirectional audio at a
 * different rate from the caller's.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import { JambonzClient } from '../../../support/telephony-binary-clients.ts';
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

describe('jambonz listen bridge', () => {
  it('carries an agent call (caller 16 kHz, bidirectional audio 8 kHz): marks, killAudio, DTMF, hang-up', async () => {
    const { agent, llm } = scenarioAgent(models);
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/telephony/jambonz', dialect: 'auto', apiKeys: [TEST_KEY] }] }, agent, vad: models.vad });
    cleanup.push(() => h.close());
    const client = new JambonzClient(h.wsUrl('/telephony/jambonz'), { token: TEST_KEY, rate: 16000, outRate: 8000 });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'jambonz', leadMs: h.settings.playout.leadMs, marks: true });
    expect(h.events[0]).toMatchObject({ callId: `jambonz-${client.callSid}`, origin: { from: '+15083084809', to: '+15083728299' } });
    expect(client.peer?.ws.protocol).toBe('audio.jambonz.org');
  });

  it('ends the verb with disconnect when the agent hangs up', async () => {
    const h = await startTelephonyHarness({
      telephony: { endpoints: [{ path: '/j', dialect: 'jambonz', apiKeys: [TEST_KEY] }] },
      startCall: async (leg) => {
        await leg.answer();
        await leg.hangup();
      },
    });
    cleanup.push(() => h.close());
    const client = new JambonzClient(h.wsUrl('/j'), { token: TEST_KEY });
    cleanup.push(() => client.close());
    await client.start();
    await client.closed;
    expect(client.disconnected).toBe(true);
  });

  it('refuses call attributes without a usable sample rate', async () => {
    const h = await startTelephonyHarness({ telephony: { endpoints: [{ path: '/j', dialect: 'jambonz', apiKeys: [TEST_KEY] }] }, startCall: async () => undefined });
    cleanup.push(() => h.close());
    const peer = await WsPeer.connect(h.wsUrl('/j', { token: TEST_KEY }), 'audio.jambonz.org');
    cleanup.push(() => peer.close());
    peer.sendText('{"callSid":"x","sampleRate":11025}');
    expect((await peer.closed).code).toBe(1003);
  });
});
