/**
 * Speech-to-speech over real SIP/RTP (PCMU) with the real OpenAI Realtime SDK against the local fake:
 * the caller's recorded question reaches the model byte for byte (RTP payloads passed straight through),
 * the model asks for an HTTP tool (a local endpoint; its parameters checked), the result goes back, and the
 * model's answer reaches the phone as the model's own bytes. Barge-in: the caller talks over the answer,
 * playout stops and the model is told exactly what the phone received (`audio_end_ms`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../../src/call/call-events.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { httpTool } from '../../../src/room/http-tool.ts';
import { EnergyVad } from '../../../src/vad/energy-vad.ts';
import { startCallHarness, type CallHarness } from '../../support/call-harness.ts';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent, ToolServer } from '../../support/realtime-call-agents.ts';
import { allisonMulaw, heardPackets, heardPrefix, heardRun, indexOfBytes, modelVoice, PhoneLine, taggedVoice } from '../../support/realtime-call-phone.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fakeModel(): Promise<FakeOpenAiRealtimeServer> {
  const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', userTranscript: 'where is my order 4567', vadSilenceMs: 300 });
  await fake.start();
  cleanup.push(() => fake.stop());
  return fake;
}

async function harnessFor(agent: Parameters<typeof startCallHarness>[0]['agent']): Promise<CallHarness> {
  const h = await startCallHarness({ agent, vad: new EnergyVad(), gatewayCodecs: ['PCMU'], logger: silentLogger() });
  cleanup.push(() => h.close());
  return h;
}

async function callIn(h: CallHarness): Promise<PhoneLine> {
  const phone = await h.dial();
  const line = new PhoneLine(phone.leg);
  cleanup.push(() => line.stop());
  cleanup.push(() => phone.leg.hangup().catch(() => undefined));
  await until(() => h.events.some((e) => e.event.type === 'answered'), 5000, 'answered');
  line.start();
  return line;
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const events = (h: CallHarness): CallEvent[] => h.events.map((e) => e.event);

describe('speech-to-speech over SIP (PCMU) with OpenAI Realtime', () => {
  it('passes the caller through, runs an HTTP tool the model asks for, and plays the model bytes unchanged', async () => {
    const fake = await fakeModel();
    const orders = await new ToolServer(() => ({ status: 200, body: { orderId: '4567', status: 'shipped', eta: 'tomorrow' } })).start();
    cleanup.push(() => orders.stop());
    const answer = modelVoice('hello-world');
    fake.plans.push({ toolCalls: [{ name: 'check_order', arguments: '{"orderId":"4567","detail":"eta"}' }] });
    fake.plans.push({ audio: answer, transcript: 'Your order ships tomorrow' });
    const tool = httpTool({
      name: 'check_order',
      description: 'Look up an order',
      httpMethod: 'GET',
      baseUrlPattern: `${orders.base}/orders/{orderId}`,
      dynamicParameters: [
        { name: 'orderId', location: 'path', type: 'string', required: true },
        { name: 'detail', location: 'query', type: 'string' },
      ],
      automaticParameters: [{ name: 'X-Call-Id', location: 'header', knownValue: (ctx) => String(ctx.roomMetadata['call.id']) }],
    });
    const h = await harnessFor(openAiAgent(fake, { tools: [tool] }));
    const line = await callIn(h);
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    expect(conn?.session).toMatchObject({ audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } });
    expect((conn?.session?.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(expect.arrayContaining(['check_order', 'hangUp', 'playDtmf']));

    const question = allisonMulaw('please-try-again');
    await line.say(question);
    await until(() => indexOfBytes(line.heardBytes(), answer) >= 0 && heardPrefix(line.heardBytes(), answer) === answer.length, 15_000, 'the model answer at the phone');

    // The HTTP tool ran with the model's arguments and the call's id; its body went back to the model.
    expect(orders.requests).toHaveLength(1);
    const req = orders.requests[0];
    expect(req?.method).toBe('GET');
    expect(req?.url.pathname).toBe('/orders/4567');
    expect(req?.url.searchParams.get('detail')).toBe('eta');
    const callId = h.events[0]?.callId;
    expect(req?.headers['x-call-id']).toBe(callId);
    expect(conn?.functionOutputs).toHaveLength(1);
    expect(JSON.parse(conn?.functionOutputs[0]?.output ?? '{}')).toMatchObject({ orderId: '4567', status: 'shipped' });
    expect(conn?.eventsOf('response.create')).toHaveLength(1); // the adapter's, after the result: none of ours

    // In: exactly the RTP payloads the phone sent, in order (question and the silence around it).
    const got = Buffer.concat(conn?.audio ?? []);
    const sent = Uint8Array.from(line.sent);
    expect(got.length).toBeGreaterThan(question.length);
    expect(Buffer.compare(got, Buffer.from(sent.subarray(0, got.length)))).toBe(0);
    // Out: the model's bytes, unchanged and contiguous.
    expect(heardPrefix(line.heardBytes(), answer)).toBe(answer.length);

    await until(() => events(h).some((e) => e.type === 'transcript' && e.role === 'assistant' && e.final), 5000, 'final answer transcript');
    const ev = events(h);
    expect(ev).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'user', text: 'where is my order 4567', final: true }));
    expect(ev).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'assistant', text: 'Your order ships tomorrow', final: true }));
    expect(ev.filter((e) => e.type === 'tool_started')).toMatchObject([{ name: 'check_order' }]);
    expect(ev.filter((e) => e.type === 'tool_finished')).toMatchObject([{ name: 'check_order', outcome: 'ok' }]);
    const states = ev.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.state : ''));
    expect(states).toEqual(expect.arrayContaining(['listening', 'thinking', 'speaking']));
    await until(() => events(h).some((e) => e.type === 'turn'), 5000, 'turn timing');
    const turn = ev.concat(events(h)).find((e) => e.type === 'turn');
    expect(turn).toMatchObject({ timing: { turn: 1, source: 'speech', llmFirstTokenMs: expect.any(Number), firstAudioMs: expect.any(Number) } });
  });

  it('barge-in stops playout at once and truncates the answer to exactly what the phone received', async () => {
    const fake = await fakeModel();
    const answer = taggedVoice('hello-world', 5000);
    const words = 'this is a long answer that the caller will cut short somewhere around the middle of it';
    fake.plans.push({ audio: answer, transcript: words });
    const h = await harnessFor(openAiAgent(fake));
    const line = await callIn(h);
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    await line.say(allisonMulaw('please-try-again'));
    // About 1.5 s of the answer heard, then the caller talks over it.
    await until(() => heardPackets(line.heard, answer).size >= 75, 10_000, '1.5 s of the answer').catch((err: unknown) => {
      console.log('heard packets', [...heardPackets(line.heard, answer)].sort((a, b) => a - b).join(','), 'payloads', line.heard.length, JSON.stringify(events(h).map((e) => e.type)));
      throw err;
    });
    const interruption = line.say(allisonMulaw('goodbye'));
    await fake.waitFor(() => (conn?.truncates.length ?? 0) > 0, 5000, 'truncate');
    await interruption;
    // Let the phone's jitter buffer hand over whatever was already on the wire.
    await new Promise((r) => setTimeout(r, 300));
    const got = heardPackets(line.heard, answer);
    const heardMs = got.size * 20;
    const truncate = conn?.truncates[0];
    if (process.env['RT_DEBUG']) console.log('heard', heardMs, 'run', heardRun(line.heard, answer) * 20, 'truncate', truncate);
    expect(conn?.truncates).toHaveLength(1);
    expect(truncate?.itemId).toBe([...(conn?.itemAudioBytes.keys() ?? [])][0]);
    expect(conn?.responses[0]?.status).toBe('cancelled');
    // The phone got the answer's first packets, in order, and nothing after the cut.
    expect(heardRun(line.heard, answer)).toBe(got.size);
    // What the model is told is what reached the phone, within a packet.
    expect(Math.abs((truncate?.audioEndMs ?? -1000) - heardMs)).toBeLessThanOrEqual(20);
    expect(heardMs).toBeGreaterThan(1400);
    expect(heardMs).toBeLessThan(4000);
    // Playout stopped: nothing more of the answer arrives.
    await new Promise((r) => setTimeout(r, 500));
    expect(heardPackets(line.heard, answer).size).toBe(got.size);

    const ev = events(h);
    const bargeIn = ev.find((e) => e.type === 'barge_in');
    expect(bargeIn).toMatchObject({ type: 'barge_in', droppedMs: expect.any(Number) });
    expect(bargeIn?.type === 'barge_in' ? bargeIn.droppedMs : 0).toBeGreaterThan(0);
    const cut = ev.find((e) => e.type === 'transcript' && e.role === 'assistant' && e.final);
    expect(cut).toMatchObject({ interrupted: true });
    const heardText = cut?.type === 'transcript' ? cut.text : '';
    expect(words.startsWith(heardText)).toBe(true);
    expect(heardText.length).toBeLessThan(words.length);
    expect(conn?.eventsOf('response.cancel').length).toBeGreaterThanOrEqual(1);
  });
});
