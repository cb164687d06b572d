/**
 * Speech-to-speech with Gemini Live (the real @google/genai client against the local fake) on a G.722 SIP
 * call, the agent built from configuration by the real `AgentBuilder` (`providers.geminiLive`, the agent's
 * `realtime` section and an HTTP tool with an automatic parameter): caller audio goes to the model as 16 kHz
 * PCM (the call's own rate, not resampled), the model's 24 kHz voice reaches the phone (resampled by the leg),
 * the tool runs and its result goes back. Barge-in: Gemini's `interrupted` stops playout at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../../src/config/load-config.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { AgentBuilder } from '../../../src/wiring/agent-builder.ts';
import { FakeGeminiLiveServer } from '../../support/fake-gemini-live-server.ts';
import { ToolServer } from '../../support/realtime-call-agents.ts';
import { dialRealtime, sleep, until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allisonMulaw } from '../../support/realtime-call-phone.ts';
import { tone, toneShare } from '../../support/ws-test-client.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A 24 kHz tone as the model's PCM bytes. */
function modelTone(ms: number, hz: number): Uint8Array {
  const pcm = tone(24000, ms, hz, 9000);
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

async function geminiCall(http: ToolServer | undefined, realtime: Record<string, unknown> = {}) {
  const fake = new FakeGeminiLiveServer({ apiKey: 'gm-key', vadSilenceMs: 300, userTranscript: 'where is my order' });
  await fake.start();
  cleanup.push(() => fake.stop());
  const config = validateConfig({
    providers: { geminiLive: { apiKey: 'gm-key', baseUrl: fake.baseUrl } },
    agents: [
      {
        name: 'gem',
        systemPrompt: 'You answer order questions.',
        realtime: { provider: 'gemini', voice: 'Puck', ...realtime },
        tools: {
          http:
            http === undefined
              ? []
              : [
                  {
                    name: 'check_order',
                    description: 'Look up an order',
                    httpMethod: 'GET',
                    baseUrlPattern: `${http.base}/orders/{orderId}`,
                    dynamicParameters: [{ name: 'orderId', location: 'path', required: true }],
                    automaticParameters: [{ name: 'caller', location: 'query', knownParam: 'call.from' }],
                  },
                ],
        },
      },
    ],
  });
  const builder = new AgentBuilder({ config, speech: { stt: new Map(), tts: new Map(), close: async () => undefined }, logger: silentLogger() });
  cleanup.push(() => builder.close());
  const agent = await builder.build(config.agents[0] as (typeof config.agents)[number]);
  expect(agent.realtime?.name).toBe('gemini-live');
  const call = await dialRealtime(cleanup, agent, { codecs: ['G722'] });
  await fake.waitUntil(() => fake.connections[0]?.setup !== undefined, 5000, 'setup');
  return { fake, ...call };
}

describe('speech-to-speech over SIP (G.722) with Gemini Live, built from config', () => {
  it('sends 16 kHz PCM, runs the HTTP tool the model asks for, and plays its 24 kHz voice to the phone', async () => {
    const orders = await new ToolServer(() => ({ status: 200, body: { orderId: '4567', status: 'shipped' } })).start();
    cleanup.push(() => orders.stop());
    const { fake, line, phone, events } = await geminiCall(orders);
    fake.plans.push({ toolCalls: [{ name: 'check_order', args: { orderId: '4567' } }] }, { audio: modelTone(1500, 440), transcript: 'Your order has shipped' });
    const conn = fake.connections[0];
    const setup = conn?.setup as { model: string; systemInstruction?: unknown; tools?: Array<{ functionDeclarations: Array<{ name: string }> }>; generationConfig: { speechConfig?: unknown } };
    expect(setup.tools?.[0]?.functionDeclarations.map((f) => f.name)).toEqual(expect.arrayContaining(['check_order', 'hangUp']));
    expect(JSON.stringify(setup.generationConfig.speechConfig)).toContain('Puck');

    await line.say(allisonMulaw('please-try-again'));
    await until(() => events().some((e) => e.type === 'transcript' && e.role === 'assistant' && e.final), 10_000, 'the answer', () => events().map((e) => e.type));
    await sleep(300);
    expect(conn?.mimeTypes).toEqual(new Set(['audio/pcm;rate=16000']));
    expect(orders.requests).toHaveLength(1);
    expect(orders.requests[0]?.url.pathname).toBe('/orders/4567');
    expect(orders.requests[0]?.url.searchParams.get('caller')).toBe('sip:callroom@127.0.0.1');
    expect(conn?.functionResponses).toHaveLength(1);
    expect(JSON.stringify(conn?.functionResponses[0]?.response)).toContain('shipped');
    // The phone heard the model's tone (24 kHz resampled to the call's 16 kHz): most of the energy at 440 Hz.
    const heard = phone.recording();
    const loud = phone.frames.filter((f) => f.rms > 1000).length;
    expect(loud * 20).toBeGreaterThan(1300);
    expect(toneShare(heard.subarray(heard.length - 16000 * 2), 16000, 440)).toBeGreaterThan(0.5);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'assistant', text: 'Your order has shipped', final: true }));
    expect(events()).toContainEqual(expect.objectContaining({ type: 'tool_finished', name: 'check_order', outcome: 'ok' }));
  });

  it("barge-in on Gemini's interrupted: playout stops at once and the answer is reported as heard", async () => {
    const { fake, line, phone, events } = await geminiCall(undefined);
    fake.plans.push({ audio: modelTone(6000, 440), transcript: 'a long answer that goes on and on and on for a good while yet' });
    // The answer to the interruption says nothing: any tone after the cut would be the old answer.
    fake.defaultPlan = { audio: new Uint8Array(0) };
    await line.say(allisonMulaw('please-try-again'));
    await until(() => phone.frames.filter((f) => f.rms > 1000).length > 60, 10_000, 'the answer playing');
    const talk = line.say(allisonMulaw('goodbye'));
    await until(() => events().some((e) => e.type === 'barge_in'), 5000, 'barge-in');
    const cutAt = performance.now();
    await talk;
    await sleep(500);
    // Nothing of the answer after the cut but what was already in the phone's jitter buffer.
    // (The phone's jitter buffer holds up to a few hundred ms on a loaded machine.)
    const lateTone = phone.frames.filter((f) => f.at > cutAt + 300 && f.rms > 1000).length;
    expect(lateTone).toBe(0);
    expect(fake.connections[0]?.turns[0]).toMatchObject({ status: 'interrupted' });
    const cut = events().find((e) => e.type === 'transcript' && e.role === 'assistant' && e.final);
    expect(cut).toMatchObject({ interrupted: true });
    const said = cut?.type === 'transcript' ? cut.text : '';
    expect('a long answer that goes on and on and on for a good while yet'.startsWith(said)).toBe(true);
    expect(said.length).toBeLessThan(40);
  });

  it('a dropped Gemini socket is resumed by the adapter: the call goes on with its context', async () => {
    const { fake, line, phone, events } = await geminiCall(undefined);
    fake.connections[0]?.drop(1006);
    await fake.waitUntil(() => fake.connections[1]?.setup !== undefined, 5000, 'the resumed session');
    expect(fake.connections[1]?.resumedFrom).toMatch(/^handle-/);
    fake.plans.push({ audio: modelTone(1000, 440), transcript: 'still here' });
    const before = phone.frames.length;
    await line.say(allisonMulaw('please-try-again'));
    await until(() => phone.frames.slice(before).filter((f) => f.rms > 1000).length > 30, 10_000, 'the answer after resuming');
    expect(events().some((e) => e.type === 'llm_failed' || e.type === 'ended')).toBe(false);
  });

  it('when Gemini cannot come back and the agent says onDrop end, the call ends with the reason', async () => {
    const { fake, events, phone } = await geminiCall(undefined, { onDrop: 'end' });
    fake.faultsFor = (i) => (i >= 1 ? { handshakeStatus: 503 } : {});
    fake.connections[0]?.drop(1006);
    expect(await phone.leg.ended).toMatchObject({ reason: 'remote-hangup' });
    await until(() => events().some((e) => e.type === 'ended'), 5000, 'ended');
    expect(events().find((e) => e.type === 'ended')).toMatchObject({
      end: { reason: 'error', detail: expect.stringMatching(/^realtime model connection lost \(gemini-live: .*\); the agent ends calls whose model drops$/) },
    });
    expect(fake.handshakes).toBe(4);
  });
});
