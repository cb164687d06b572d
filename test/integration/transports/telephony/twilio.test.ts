/**
 * Twilio Media Streams end to end: a scripted Twilio (hand-written frames, reference mu-law) calls an agent
 * through the bridge (Silero VAD, the energy STT double, flite, a scripted model), then the Twilio-specific
 * wire facts: the key as a `<Parameter>`, outbound messages exactly as Twilio takes them, echoed marks after
 * a clear ignored, G.711 passed through to a recogniser that takes it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { ScriptedLlm } from '../../../../src/providers/mock/scripted-llm.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { waitFor } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY, type TelephonyHarness } from '../../../support/telephony-harness.ts';
import { TwilioClient } from '../../../support/telephony-json-clients.ts';
import { expectCompleteCall } from '../../../support/telephony-assertions.ts';
import {
  CallerLine,
  INTERRUPTION,
  INTERRUPTION_ONSET_MS,
  LONG_REPLY,
  loadScenarioModels,
  QUESTION,
  runAgentScenario,
  scenarioAgent,
  type ScenarioModels,
} from '../../../support/telephony-scenario.ts';
import { loadSpeech } from '../../../support/call-harness.ts';
import { firstLoud } from '../../../support/telephony-client.ts';
import { WsPeer } from '../../../support/telephony-ws-peer.ts';
import { EnergyStt } from '../../../support/telephony-fake-stt.ts';
import { testAgent } from '../../../support/test-agent.ts';
import { heardKeys, keyIn } from '../../../support/dtmf-keys.ts';

let models: ScenarioModels;
beforeAll(async () => {
  models = await loadScenarioModels();
  return () => models.close();
});

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const endpoint = { path: '/telephony/twilio', dialect: 'twilio', apiKeys: [TEST_KEY] };

async function harness(o: Partial<Parameters<typeof startTelephonyHarness>[0]> = {}): Promise<TelephonyHarness> {
  const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, startCall: (leg) => runEcho(leg, silentLogger()), ...o });
  cleanup.push(() => h.close());
  return h;
}

describe('Twilio Media Streams bridge', () => {
  it('carries an agent call: question, paced reply with marks, clear on barge-in, DTMF, hang-up', async () => {
    const { agent, llm, stt } = scenarioAgent(models);
    const h = await harness({ agent, vad: models.vad, startCall: undefined });
    const client = new TwilioClient(h.wsUrl(endpoint.path), { token: TEST_KEY });
    cleanup.push(() => client.close());
    const r = await runAgentScenario(h, client, true);
    expectCompleteCall(h.events, r, client, llm, { medium: 'twilio', leadMs: h.settings.playout.leadMs, marks: true });
    // The call id is the CallSid; caller numbers came as custom parameters.
    expect(h.events[0]).toMatchObject({ callId: `twilio-${client.callSid}`, origin: { from: '+15550001111', to: '+15550002222' } });
    // mu-law went to the recogniser as it was on the wire.
    expect(stt.opened[0]).toMatchObject({ sampleRate: 8000, encoding: 'mulaw' });
    expect(stt.encodedBytes).toBeGreaterThan(8000);
  });

  it('a short sound over the reply flushes Twilio at once (not a lead later), and the reply then goes on from where it stopped', async () => {
    const { agent } = scenarioAgent(models);
    const h = await harness({ agent, vad: models.vad, startCall: undefined });
    const client = new TwilioClient(h.wsUrl(endpoint.path), { token: TEST_KEY });
    cleanup.push(() => client.close());
    await client.start();
    await h.event((e) => e.event.type === 'answered');
    const line = new CallerLine(client);
    cleanup.push(() => line.stop());
    line.start();
    await new Promise((r) => setTimeout(r, 300));
    const askedAt = performance.now();
    await line.say(loadSpeech(QUESTION, 8000));
    await waitFor(() => firstLoud(client, askedAt + 2000) !== undefined, 10_000, 'the reply');
    await new Promise((r) => setTimeout(r, 1200));
    // An "uh": 180 ms of speech, too short to take the turn.
    const sayAt = performance.now();
    const uh = loadSpeech(INTERRUPTION, 8000).subarray(0, 8 * (INTERRUPTION_ONSET_MS + 180));
    await line.say(uh);
    await waitFor(() => client.flushes.some((t) => t > sayAt), 3000, 'a clear while the caller made a sound');
    const flushAt = client.flushes.find((t) => t > sayAt) as number;
    // The clear came at the sound's onset, well before a barge-in could have been decided.
    expect(flushAt - (sayAt + INTERRUPTION_ONSET_MS)).toBeLessThan(400);
    // The reply goes on after the sound, and the whole of it counts as heard.
    await waitFor(() => firstLoud(client, flushAt + 600) !== undefined, 5000, 'the reply going on');
    const said = await h.event((e) => e.event.type === 'transcript' && e.event.role === 'assistant' && e.event.final, 30_000);
    expect(said.event).toMatchObject({ text: LONG_REPLY });
    expect(said.event).not.toHaveProperty('interrupted');
    expect(h.events.filter((e) => e.event.type === 'barge_in')).toEqual([]);
    line.stop();
    await client.hangup();
    await h.event((e) => e.event.type === 'ended', 5000);
  });

  it('plays the keys of playDtmf to the call as in-band tones, after what the agent said', async () => {
    const llm = new ScriptedLlm({ turns: [[{ text: 'Pressing them now.' }, { toolCall: { name: 'playDtmf', arguments: { digits: '1#4' } } }], 'Done.'] });
    const stt = new EnergyStt({ transcripts: [], encodings: ['pcm_s16le', 'mulaw'] });
    const h = await harness({ agent: testAgent({ llm, stt: [stt], tts: [models.tts], spec: { turn: { fillers: [] } } }), vad: models.vad, startCall: undefined });
    const client = new TwilioClient(h.wsUrl(endpoint.path), { token: TEST_KEY });
    cleanup.push(() => client.close());
    await client.start();
    await h.event((e) => e.event.type === 'answered');
    // The caller's key reaches the model, whose answer is a sentence and then the keys.
    client.sendDtmf('5');
    const heard = (): string => heardKeys(Int16Array.from(client.audio.flatMap((a) => [...a])), 8000);
    await waitFor(() => heard().length >= 3, 10_000, 'three keys heard');
    expect(heard()).toBe('1#4');
    expect(llm.requests[0]?.messages.at(-1)).toEqual({ role: 'user', content: '[The caller pressed 5 on the keypad]' });
    // The sentence came first: loud speech before the first tone.
    const firstTone = client.audio.findIndex((a) => keyIn(a, 8000) !== undefined);
    expect(firstTone).toBeGreaterThan(0);
    expect(client.heard.slice(0, firstTone).some((f) => f.rms > 300)).toBe(true);
    await waitFor(() => llm.requests.length >= 2, 5000, 'the tool result back to the model');
    expect(llm.requests[1]?.messages.at(-1)).toMatchObject({ role: 'tool', name: 'playDtmf', content: '{"ok":true,"sent":3}' });
    await client.hangup();
    await h.event((e) => e.event.type === 'ended', 5000);
  });

  it('sends media, mark and clear exactly as Twilio takes them, and nothing else', async () => {
    const h = await harness();
    const peer = await WsPeer.connect(h.wsUrl(endpoint.path));
    cleanup.push(() => peer.close());
    const sid = 'MZ00000000000000000000000000000001';
    peer.sendText('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    peer.sendText(
      `{"event":"start","sequenceNumber":"1","streamSid":"${sid}","start":{"streamSid":"${sid}","accountSid":"AC0","callSid":"CA1","tracks":["inbound"],"customParameters":{"token":"${TEST_KEY}"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`,
    );
    // 200 ms of a loud mu-law pattern, echoed back.
    for (let i = 0; i < 10; i++) {
      peer.sendText(`{"event":"media","sequenceNumber":"${i + 2}","streamSid":"${sid}","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"${i * 20}","payload":"${Buffer.alloc(160, i % 2 === 0 ? 0x10 : 0x90).toString('base64')}"}}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitFor(() => peer.texts.filter((t) => t.json?.['event'] === 'mark').length >= 2, 3000, 'marks');
    for (const t of peer.texts) {
      const m = t.json as Record<string, unknown>;
      expect(m['streamSid']).toBe(sid);
      expect(['media', 'mark']).toContain(m['event']);
      if (m['event'] === 'media') {
        expect(Object.keys(m)).toEqual(['event', 'streamSid', 'media']);
        expect(Object.keys(m['media'] as object)).toEqual(['payload']);
        expect(Buffer.from(String((m['media'] as Record<string, unknown>)['payload']), 'base64')).toHaveLength(160);
      } else {
        expect(Object.keys(m)).toEqual(['event', 'streamSid', 'mark']);
        expect((m['mark'] as Record<string, unknown>)['name']).toMatch(/^cr-\d+$/);
      }
    }
    peer.sendText(`{"event":"stop","sequenceNumber":"20","streamSid":"${sid}","stop":{"accountSid":"AC0","callSid":"CA1"}}`);
    expect((await peer.closed).code).toBe(1000);
  });

  it('after a clear, the marks Twilio echoes back do not count as played: played stays at the last acknowledged mark', async () => {
    let leg: CallLeg | undefined;
    const h = await harness({
      startCall: async (l) => {
        leg = l;
        await l.answer();
        await l.ended;
      },
    });
    const peer = await WsPeer.connect(h.wsUrl(endpoint.path));
    cleanup.push(() => peer.close());
    const sid = 'MZ00000000000000000000000000000002';
    peer.sendText(
      `{"event":"start","sequenceNumber":"1","streamSid":"${sid}","start":{"streamSid":"${sid}","accountSid":"AC0","callSid":"CA2","tracks":["inbound"],"customParameters":{"token":"${TEST_KEY}"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`,
    );
    await waitFor(() => leg !== undefined, 2000, 'the leg');
    const l = leg as CallLeg;
    void l.write({ samples: new Int16Array(8000).fill(2000), sampleRate: 8000, timestamp: 0 });
    const marks = (): string[] => peer.texts.filter((t) => t.json?.['event'] === 'mark').map((t) => String((t.json?.['mark'] as Record<string, unknown>)['name']));
    await waitFor(() => marks().length >= 3, 2000, 'three marks');
    // Twilio played up to the second mark (200 ms), then the caller barged in.
    peer.sendText(`{"event":"mark","sequenceNumber":"2","streamSid":"${sid}","mark":{"name":"${marks()[1]}"}}`);
    await waitFor(() => l.outputPosition().playedMs === 200, 1000, 'played 200 ms');
    const { droppedMs } = l.clearOutput();
    expect(droppedMs).toBe(800);
    await waitFor(() => peer.texts.some((t) => t.json?.['event'] === 'clear'), 1000, 'clear');
    // Twilio echoes every pending mark after a clear.
    let n = 3;
    for (const name of marks().slice(2)) peer.sendText(`{"event":"mark","sequenceNumber":"${n++}","streamSid":"${sid}","mark":{"name":"${name}"}}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(l.outputPosition()).toEqual({ writtenMs: 200, playedMs: 200 });
    expect(l.mediaStats()).toMatchObject({ playbackClears: 1, marksAcked: 2 });
    expect(l.mediaStats()['marksUnknown']).toBeGreaterThanOrEqual(1);
    await l.hangup();
    expect((await peer.closed).code).toBe(1000);
  });
});
