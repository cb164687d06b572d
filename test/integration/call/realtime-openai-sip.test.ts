/**
 * Speech-to-speech over real SIP/RTP (PCMU) with the real OpenAI Realtime SDK against the local fake:
 * the caller's recorded question reaches the model byte for byte (RTP payloads passed straight through),
 * the model asks for an HTTP tool (a local endpoint; its parameters checked), the result goes back, and the
 * model's answer reaches the phone as the model's own bytes. Barge-in: the caller talks over the answer,
 * playout stops and the model is told exactly what the phone received (`audio_end_ms`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { httpTool } from '../../../src/room/http-tool.ts';
import type { IncomingRefer } from '../../../src/sip/user-agent/index.ts';
import { EnergyVad } from '../../../src/vad/energy-vad.ts';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent, ToolServer } from '../../support/realtime-call-agents.ts';
import { dialRealtime, sleep, until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allisonMulaw, heardPackets, heardRun, heardWhole, indexOfBytes, phoneTag, taggedVoice } from '../../support/realtime-call-phone.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fakeModel(): Promise<FakeOpenAiRealtimeServer> {
  const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', userTranscript: 'where is my order 4567', vadSilenceMs: 300 });
  await fake.start();
  cleanup.push(() => fake.stop());
  return fake;
}

describe('speech-to-speech over SIP (PCMU) with OpenAI Realtime', () => {
  it('passes the caller through, runs an HTTP tool the model asks for, and plays the model bytes unchanged', async () => {
    const fake = await fakeModel();
    const orders = await new ToolServer(() => ({ status: 200, body: { orderId: '4567', status: 'shipped', eta: 'tomorrow' } })).start();
    cleanup.push(() => orders.stop());
    const answer = taggedVoice('hello-world', 2000);
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
    const { line, events, callId } = await dialRealtime(cleanup, openAiAgent(fake, { tools: [tool] }), { tagLine: true });
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    expect(conn?.session).toMatchObject({ audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } });
    expect((conn?.session?.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(expect.arrayContaining(['check_order', 'hangUp', 'playDtmf']));

    const question = allisonMulaw('please-try-again');
    await line.say(question);
    await until(() => heardWhole(line.heard, answer), 15_000, 'the model answer at the phone');

    // The HTTP tool ran with the model's arguments and the call's id; its body went back to the model.
    expect(orders.requests).toHaveLength(1);
    const req = orders.requests[0];
    expect(req?.method).toBe('GET');
    expect(req?.url.pathname).toBe('/orders/4567');
    expect(req?.url.searchParams.get('detail')).toBe('eta');
    expect(req?.headers['x-call-id']).toBe(callId);
    expect(conn?.functionOutputs).toHaveLength(1);
    expect(JSON.parse(conn?.functionOutputs[0]?.output ?? '{}')).toMatchObject({ orderId: '4567', status: 'shipped' });
    expect(conn?.eventsOf('response.create')).toHaveLength(1); // the adapter's, after the result: none of ours

    // In: the RTP payloads the phone sent, byte for byte and in order. Under load the gateway's jitter buffer
    // may stand in for a late packet with its concealment (the RTP stack's doing, not the bridge's): such a
    // packet carries no tag, or repeats the one before; there may be at most a few of them.
    const got = Buffer.concat(conn?.audio ?? []);
    const sent = Uint8Array.from(line.sent);
    let expected = 0;
    let concealed = 0;
    for (let at = 0; at + 160 <= got.length; at += 160) {
      const packet = got.subarray(at, at + 160);
      const k = phoneTag(packet);
      if (k === undefined) {
        concealed++;
        continue;
      }
      const original = Buffer.from(sent.subarray(k * 160, (k + 1) * 160));
      // A concealed gap repeats the packet before it (perhaps attenuated): the bridge forwards each payload once.
      if (k < expected) {
        concealed++;
        continue;
      }
      expect(Buffer.compare(packet, original)).toBe(0);
      expected = k + 1;
    }
    expect(got.length % 160).toBe(0);
    expect(got.length).toBeGreaterThan(question.length);
    expect(concealed).toBeLessThanOrEqual(Math.max(3, 0.05 * (got.length / 160)));
    expect(expected).toBeGreaterThan(question.length / 160);
    // Out: the model's bytes, unchanged and in order (the wait above); all of them unless a stall of this
    // machine made the RTP stack drop stale packets.
    expect(heardPackets(line.heard, answer).size).toBeGreaterThanOrEqual(0.95 * (answer.length / 160));

    await until(() => events().some((e) => e.type === 'transcript' && e.role === 'assistant' && e.final), 5000, 'final answer transcript');
    const ev = events();
    expect(ev).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'user', text: 'where is my order 4567', final: true }));
    expect(ev).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'assistant', text: 'Your order ships tomorrow', final: true }));
    expect(ev.filter((e) => e.type === 'tool_started')).toMatchObject([{ name: 'check_order' }]);
    expect(ev.filter((e) => e.type === 'tool_finished')).toMatchObject([{ name: 'check_order', outcome: 'ok' }]);
    const states = ev.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.state : ''));
    expect(states).toEqual(expect.arrayContaining(['listening', 'thinking', 'speaking']));
    await until(() => events().some((e) => e.type === 'turn'), 5000, 'turn timing');
    const turn = events().find((e) => e.type === 'turn');
    expect(turn).toMatchObject({ timing: { turn: 1, source: 'speech', llmFirstTokenMs: expect.any(Number), firstAudioMs: expect.any(Number) } });
  });

  it('barge-in stops playout at once and truncates the answer to exactly what the phone received', async () => {
    const fake = await fakeModel();
    const answer = taggedVoice('hello-world', 5000);
    const words = 'this is a long answer that the caller will cut short somewhere around the middle of it';
    fake.plans.push({ audio: answer, transcript: words });
    const { line, events } = await dialRealtime(cleanup, openAiAgent(fake));
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    await line.say(allisonMulaw('please-try-again'));
    // About 1.5 s of the answer heard, then the caller talks over it.
    await until(() => heardPackets(line.heard, answer).size >= 75, 10_000, '1.5 s of the answer').catch((err: unknown) => {
      console.log('heard packets', [...heardPackets(line.heard, answer)].sort((a, b) => a - b).join(','), 'payloads', line.heard.length, JSON.stringify(events().map((e) => e.type)));
      throw err;
    });
    const interruption = line.say(allisonMulaw('goodbye'));
    await fake.waitFor(() => (conn?.truncates.length ?? 0) > 0, 5000, 'truncate');
    await interruption;
    // Let the phone's jitter buffer hand over whatever was already on the wire.
    await sleep(300);
    const got = heardPackets(line.heard, answer);
    // How far into the answer the phone got (a packet a stall made stale is dropped, but its time passed).
    const heardMs = (Math.max(...got) + 1) * 20;
    const truncate = conn?.truncates[0];
    if (process.env['RT_DEBUG']) console.log('heard', heardMs, 'run', heardRun(line.heard, answer) * 20, 'truncate', truncate);
    expect(conn?.truncates).toHaveLength(1);
    expect(truncate?.itemId).toBe([...(conn?.itemAudioBytes.keys() ?? [])][0]);
    expect(conn?.responses[0]?.status).toBe('cancelled');
    expect(got.size).toBeGreaterThanOrEqual(0.95 * (heardMs / 20));
    // What the model is told is where the phone got to, within a packet.
    expect(Math.abs((truncate?.audioEndMs ?? -1000) - heardMs)).toBeLessThanOrEqual(20);
    expect(heardMs).toBeGreaterThan(1400);
    expect(heardMs).toBeLessThan(4000);
    // Playout stopped: nothing more of the answer arrives.
    await sleep(500);
    expect(Math.max(...heardPackets(line.heard, answer))).toBe(heardMs / 20 - 1);

    const ev = events();
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

  it("manual turns: Callroom's VAD ends the caller's turn, commits it and asks for the answer; only speech reaches the model", async () => {
    const fake = await fakeModel();
    const answer = taggedVoice('hello-world', 1000);
    fake.plans.push({ audio: answer, transcript: 'Hello world' });
    const { line, events } = await dialRealtime(cleanup, openAiAgent(fake, { realtime: { turnDetection: 'manual' }, spec: { vad: { minSilenceMs: 300 } } }), { vad: new EnergyVad() });
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    expect((conn?.session?.audio as { input: { turn_detection: unknown } }).input.turn_detection).toBeNull();
    await sleep(1000);
    expect(conn?.audioBytes).toBe(0); // silence is not sent in manual mode
    const question = allisonMulaw('please-try-again');
    await line.say(question);
    await until(() => heardWhole(line.heard, answer, 0.9), 15_000, 'the answer', () => heardPackets(line.heard, answer).size);
    expect(conn?.eventsOf('input_audio_buffer.commit')).toHaveLength(1);
    expect(conn?.eventsOf('response.create')).toHaveLength(1);
    // The turn as committed: the question (with a little silence around it), not the second of silence before.
    const got = Buffer.concat(conn?.audio ?? []);
    expect(indexOfBytes(got, question.subarray(question.findIndex((b) => b < 0xf0)))).toBeGreaterThanOrEqual(0);
    expect(got.length).toBeGreaterThan(question.length * 0.8);
    expect(got.length).toBeLessThan(question.length + 8 * 1200);
    await until(() => events().some((e) => e.type === 'turn'), 5000, 'the turn timing');
  });

  it("manual turns: Callroom's VAD hearing the caller over the answer cancels and truncates it", async () => {
    const fake = await fakeModel();
    const answer = taggedVoice('hello-world', 5000);
    fake.plans.push({ audio: answer, transcript: 'a long answer' });
    const { line, events } = await dialRealtime(cleanup, openAiAgent(fake, { realtime: { turnDetection: 'manual' }, spec: { vad: { minSilenceMs: 300 } } }), { vad: new EnergyVad() });
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    const conn = fake.connections[0];
    await line.say(allisonMulaw('please-try-again'));
    await until(() => heardPackets(line.heard, answer).size >= 50, 10_000, '1 s of the answer');
    await line.say(allisonMulaw('goodbye'));
    await fake.waitFor(() => (conn?.truncates.length ?? 0) > 0, 5000, 'truncate');
    await sleep(300);
    const heardMs = (Math.max(...heardPackets(line.heard, answer)) + 1) * 20;
    expect(conn?.eventsOf('response.cancel')).toHaveLength(1);
    expect(conn?.responses[0]).toMatchObject({ status: 'cancelled', reason: 'client_cancelled' });
    expect(Math.abs((conn?.truncates[0]?.audioEndMs ?? -1000) - heardMs)).toBeLessThanOrEqual(20);
    // The delta the service had in flight when it got the cancel is not played.
    await sleep(300);
    expect((Math.max(...heardPackets(line.heard, answer)) + 1) * 20).toBe(heardMs);
    expect(events().some((e) => e.type === 'barge_in')).toBe(true);
    // The interruption is a turn of its own: committed and answered.
    await fake.waitFor(() => (conn?.eventsOf('input_audio_buffer.commit').length ?? 0) === 2, 5000, 'second commit');
  });

  for (const outcome of [200, 486] as const) {
    it(`transferCall from the model: REFER on the caller's yes, the NOTIFY outcome back to the model (${outcome})`, async () => {
      const fake = await fakeModel();
      const target = 'sip:billing@127.0.0.1:5999';
      const offer = taggedVoice('hello', 800);
      const sorry = taggedVoice('hello-world', 600);
      fake.plans.push({ audio: offer, transcript: 'Shall I transfer you to billing?' });
      fake.plans.push({ toolCalls: [{ name: 'transferCall', arguments: JSON.stringify({ target, reason: 'billing question' }) }] });
      fake.plans.push({ audio: sorry, transcript: 'The transfer did not go through' });
      const { h, phone, line, events } = await dialRealtime(cleanup, openAiAgent(fake), { acceptRefer: true });
      const refer = new Promise<IncomingRefer>((resolve) => phone.call.onRefer(resolve));
      await line.say(allisonMulaw('please-try-again'));
      await until(() => heardWhole(line.heard, offer), 15_000, 'the offer at the phone');
      await line.say(allisonMulaw('please-try-again'));
      const got = await Promise.race([refer, sleep(10_000).then(() => undefined)]);
      expect(got?.target).toBe(target);
      await got?.notify(100, 'Trying');
      await got?.notify(outcome, outcome === 200 ? 'OK' : 'Busy Here');
      if (outcome === 200) {
        expect((await phone.leg.ended).reason).toBe('remote-hangup');
        const ended = await h.waitForEvent('ended');
        expect(ended).toMatchObject({ end: { reason: 'transferred', transferredTo: target } });
      } else {
        const conn = fake.connections[0];
        await fake.waitFor(() => (conn?.functionOutputs.length ?? 0) === 1, 5000, 'the tool result to the model');
        expect(JSON.parse(conn?.functionOutputs[0]?.output ?? '{}')).toMatchObject({ status: 486 });
        await until(() => heardWhole(line.heard, sorry), 10_000, 'the model telling the caller');
        expect(events().filter((e) => e.type === 'tool_finished')).toMatchObject([{ name: 'transferCall' }]);
      }
    });
  }

  it('greets first when the agent has a greeting', async () => {
    const fake = await fakeModel();
    const hello = taggedVoice('hello', 800);
    fake.plans.push({ audio: hello, transcript: 'Hello, how can I help?' });
    const { line, events } = await dialRealtime(cleanup, openAiAgent(fake, { spec: { greeting: 'Hello, how can I help?' } }));
    await until(() => heardWhole(line.heard, hello), 5000, 'the greeting');
    const conn = fake.connections[0];
    expect(String(conn?.session?.instructions)).toMatch(/greet the caller with exactly these words: "Hello, how can I help\?"/);
    expect(conn?.eventsOf('response.create')).toHaveLength(1);
    expect(conn?.audioBytes).toBeGreaterThan(0);
    await until(() => events().some((e) => e.type === 'transcript' && e.role === 'assistant' && e.final), 3000, 'greeting transcript');
    expect(events()).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'assistant', text: 'Hello, how can I help?', final: true }));
  });
});
