/**
 * Speech-to-speech over the Callroom WebSocket medium, end to end: a real HTTP server with the WebSocket
 * endpoints, a call prepared and joined through the `CallManager` (`prepare` / `join`), a plain `ws` client
 * playing a human recording as 16 kHz PCM, and the real OpenAI SDK against the fake (PCM 24 kHz both ways:
 * the call layer resamples the caller up, the leg resamples the model down). The model calls a client tool,
 * which goes to this same socket; the client answers it; the model's voice comes back to the client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallManager } from '../../../src/call/call-manager.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { EnergyVad } from '../../../src/vad/energy-vad.ts';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent } from '../../support/realtime-call-agents.ts';
import { until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allison } from '../../support/realtime-call-phone.ts';
import { startWsHarness } from '../../support/ws-harness.ts';
import { tone, toneShare, WsTestClient } from '../../support/ws-test-client.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('speech-to-speech over the WebSocket medium', () => {
  it('hears the client, runs a client tool on the same socket, and plays the model to the client', async () => {
    const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', vadSilenceMs: 300, userTranscript: 'show me Oslo' });
    await fake.start();
    cleanup.push(() => fake.stop());
    const voice = tone(24000, 1500, 440, 9000);
    fake.plans.push({ toolCalls: [{ name: 'show_map', arguments: '{"city":"Oslo"}' }] }, { audio: new Uint8Array(voice.buffer), transcript: 'Here is Oslo' });
    const agent = openAiAgent(fake, {
      spec: { tools: { client: [{ name: 'show_map', description: 'Show a map in the app', dynamicParameters: [{ name: 'city', type: 'string', required: true }] }] } },
    });
    const manager = new CallManager({ resolveAgent: async () => agent, vad: new EnergyVad(), logger: silentLogger(), maxConcurrentCalls: 5, maxCallSeconds: 60 });
    cleanup.push(() => manager.hangupAll());
    const events: string[] = [];
    manager.onCallEvent((e) => events.push(e.event.type));
    const h = await startWsHarness({ joinCall: manager.join });
    cleanup.push(() => h.close());
    const callId = manager.prepare(agent, { direction: 'inbound', from: 'web', to: 'agent', dialled: 'agent' });
    const client = await WsTestClient.connect(h.joinUrl(callId, { inputSampleRate: 16000, outputSampleRate: 16000 }));
    cleanup.push(() => client.close());
    await client.next('call_started');
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    expect(fake.connections[0]?.session).toMatchObject({ audio: { input: { format: { type: 'audio/pcm', rate: 24000 } }, output: { format: { type: 'audio/pcm', rate: 24000 } } } });

    // The caller: a human recording, then silence, 20 ms at a time in real time.
    const speech = allison('please-try-again');
    let at = 0;
    const timer = setInterval(() => {
      const frame = at < speech.length ? speech.subarray(at, at + 320) : new Int16Array(320);
      at += 320;
      client.sendPcm(frame.length === 320 ? frame : Int16Array.from({ length: 320 }, (_, i) => frame[i] ?? 0));
    }, 20);
    cleanup.push(() => clearInterval(timer));

    const invocation = await client.next('client_tool_invocation', 10_000);
    expect(invocation).toMatchObject({ toolName: 'show_map', parameters: { city: 'Oslo' } });
    client.sendJson({ type: 'client_tool_result', invocationId: invocation['invocationId'], result: '{"shown":true}' });
    await client.next('transcript', 10_000, (m) => m['role'] === 'assistant' && m['final'] === true);
    await until(() => client.receivedBytes >= 1400 * 32, 5000, 'the model voice at the client', () => client.receivedBytes);

    expect(fake.connections[0]?.functionOutputs).toMatchObject([{ output: '{"shown":true}' }]);
    // The caller's audio reached the model resampled to 24 kHz: 1.5x the bytes of the 16 kHz PCM sent.
    expect(fake.connections[0]?.audioBytes).toBeGreaterThan(speech.length * 2 * 1.5 * 0.9);
    // The client heard the model's 440 Hz at its own 16 kHz.
    const heard = client.receivedSamples();
    const loud = heard.subarray(heard.findIndex((v) => Math.abs(v) > 3000));
    expect(loud.length).toBeGreaterThan(16000 * 1.3);
    expect(toneShare(loud.subarray(0, 16000), 16000, 440)).toBeGreaterThan(0.8);
    expect(client.all('state').map((m) => m['state'])).toEqual(expect.arrayContaining(['listening', 'thinking', 'speaking']));
    expect(client.all('transcript')).toContainEqual(expect.objectContaining({ role: 'user', text: 'show me Oslo', final: true }));
    expect(events).toEqual(expect.arrayContaining(['started', 'answered', 'tool_started', 'tool_finished']));
  });
});
