/**
 * Tools on a speech-to-speech call (real SIP/RTP, real OpenAI SDK against the fake): a client tool answered
 * by an application attached through `CallManager.attachControl` (what a SIP call's control socket does),
 * the same tool failing at once when nothing is attached, and the hangUp system tool ending the call only
 * after the model's goodbye has reached the phone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientToolInvocation, ClientToolResponse, ControlClient, SessionEvent } from '../../../src/call/session-events.ts';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent } from '../../support/realtime-call-agents.ts';
import { dialRealtime, until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allisonMulaw, heardPackets, heardWhole, taggedVoice } from '../../support/realtime-call-phone.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An application on the call's control socket, in process: records events, answers invocations. */
class TestControlClient implements ControlClient {
  readonly events: SessionEvent[] = [];
  readonly invocations: ClientToolInvocation[] = [];
  connected = true;
  readonly #responses = new Set<(r: ClientToolResponse) => void>();
  readonly #disconnects = new Set<() => void>();
  readonly #answer: (inv: ClientToolInvocation) => ClientToolResponse;

  constructor(answer: (inv: ClientToolInvocation) => ClientToolResponse) {
    this.#answer = answer;
  }

  send(invocation: ClientToolInvocation): void {
    this.invocations.push(invocation);
    // Answered a little later, as an application over a socket would.
    setTimeout(() => {
      const r = this.#answer(invocation);
      for (const fn of [...this.#responses]) fn(r);
    }, 30);
  }

  onResponse(listener: (r: ClientToolResponse) => void): () => void {
    this.#responses.add(listener);
    return () => this.#responses.delete(listener);
  }

  onDisconnect(listener: () => void): () => void {
    this.#disconnects.add(listener);
    return () => this.#disconnects.delete(listener);
  }

  onSessionEvent(event: SessionEvent): void {
    this.events.push(event);
  }
}

const LOOKUP = { name: 'lookup_account', description: 'Look the caller up in the CRM', dynamicParameters: [{ name: 'phone', type: 'string' as const, required: true }] };

async function fakeModel(): Promise<FakeOpenAiRealtimeServer> {
  const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', vadSilenceMs: 300, userTranscript: 'who am I' });
  await fake.start();
  cleanup.push(() => fake.stop());
  return fake;
}

describe('speech-to-speech tools', () => {
  it('a client tool goes to the application attached through CallManager.attachControl and its answer to the model', async () => {
    const fake = await fakeModel();
    const answer = taggedVoice('hello-world', 1000);
    fake.plans.push({ toolCalls: [{ name: 'lookup_account', arguments: '{"phone":"+4712345678"}' }] }, { audio: answer, transcript: 'You are Kari' });
    const { h, line, callId } = await dialRealtime(cleanup, openAiAgent(fake, { spec: { tools: { client: [LOOKUP] } } }));
    const app = new TestControlClient((inv) => ({ invocationId: inv.invocationId, result: '{"name":"Kari"}' }));
    const detach = h.manager.attachControl(callId, app);
    expect(detach).toBeTypeOf('function');
    cleanup.push(() => detach?.());
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    expect((fake.connections[0]?.session?.tools as Array<{ name: string }>).map((t) => t.name)).toContain('lookup_account');

    await line.say(allisonMulaw('please-try-again'));
    await until(() => heardWhole(line.heard, answer), 10_000, 'the answer after the client tool', () => ({
      heard: heardPackets(line.heard, answer).size,
      seq: line.heard.map((x) => (x.bytes[0] ?? 0) * 128 + (x.bytes[1] ?? 0) + (x.bytes.length === 160 ? '' : `/${x.bytes.length}`)).join(' '),
      payloads: line.heard.length,
      events: h.events.map((e) => e.event.type),
      client: fake.connections[0]?.clientEvents.filter((e) => e.type !== 'input_audio_buffer.append').map((e) => e.type),
      responses: fake.connections[0]?.responses,
    }));
    expect(app.invocations).toMatchObject([{ toolName: 'lookup_account', parameters: { phone: '+4712345678' } }]);
    expect(fake.connections[0]?.functionOutputs).toMatchObject([{ output: '{"name":"Kari"}' }]);
    // The application sees the call as a WebSocket client would: state, transcripts, tool activity.
    expect(app.events[0]).toMatchObject({ type: 'state' });
    expect(app.events).toContainEqual(expect.objectContaining({ type: 'transcript', role: 'user', text: 'who am I', final: true }));
    expect(app.events).toContainEqual(expect.objectContaining({ type: 'tool_started', name: 'lookup_account' }));
    expect(app.events).toContainEqual(expect.objectContaining({ type: 'tool_finished', name: 'lookup_account', outcome: 'ok' }));
    expect(app.events).toContainEqual(expect.objectContaining({ type: 'state', state: 'speaking' }));
  });

  it('with no application attached, the client tool fails at once and the model is told why', async () => {
    const fake = await fakeModel();
    fake.plans.push({ toolCalls: [{ name: 'lookup_account', arguments: '{"phone":"+4712345678"}' }] });
    const { line, events } = await dialRealtime(cleanup, openAiAgent(fake, { spec: { tools: { client: [LOOKUP] } } }));
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    await line.say(allisonMulaw('please-try-again'));
    await fake.waitFor(() => (fake.connections[0]?.functionOutputs.length ?? 0) > 0, 10_000, 'the tool result');
    expect(JSON.parse(fake.connections[0]?.functionOutputs[0]?.output ?? '{}')).toEqual({ error: 'the client is not connected', tool: 'lookup_account' });
    expect(events()).toContainEqual(expect.objectContaining({ type: 'tool_finished', name: 'lookup_account', outcome: 'ok' }));
  });

  it('hangUp ends the call once the model has said goodbye to the phone', async () => {
    const fake = await fakeModel();
    const goodbye = taggedVoice('goodbye', 1200);
    fake.plans.push({ toolCalls: [{ name: 'hangUp', arguments: '{"reason":"the caller is done"}' }] }, { audio: goodbye, transcript: 'Goodbye' });
    const { line, events, phone } = await dialRealtime(cleanup, openAiAgent(fake));
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    await line.say(allisonMulaw('goodbye'));
    const end = await phone.leg.ended;
    const endedAt = performance.now();
    expect(end).toMatchObject({ reason: 'remote-hangup' });
    // The goodbye came through, and the BYE only after it had had time to play to its end.
    expect(heardWhole(line.heard, goodbye, 0.9)).toBe(true);
    const firstAt = line.heard.find((h) => h.bytes[0] === 0 && h.bytes[1] === 0)?.at ?? endedAt;
    expect(endedAt - firstAt).toBeGreaterThanOrEqual(1200 - 40);
    await until(() => events().some((e) => e.type === 'ended'), 5000, 'ended');
    expect(events()).toContainEqual({ type: 'hangup_cause', cause: 'agent-hangup', detail: 'the caller is done' });
    expect(events().find((e) => e.type === 'ended')).toMatchObject({ end: { reason: 'local-hangup', detail: 'the caller is done' } });
  });

  it('the caller hanging up while a client tool is outstanding ends the call at once; nothing is sent for the tool', async () => {
    const fake = await fakeModel();
    fake.plans.push({ toolCalls: [{ name: 'lookup_account', arguments: '{"phone":"+4712345678"}' }] });
    const { h, line, phone, events, callId } = await dialRealtime(cleanup, openAiAgent(fake, { spec: { tools: { client: [LOOKUP] } } }));
    // An application that never answers.
    const app = new TestControlClient(() => ({ invocationId: 'never', result: '' }));
    h.manager.attachControl(callId, app);
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    await line.say(allisonMulaw('please-try-again'));
    await until(() => app.invocations.length === 1, 10_000, 'the invocation');
    const t0 = performance.now();
    await phone.leg.hangup();
    await until(() => events().some((e) => e.type === 'ended'), 3000, 'ended');
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'tool_finished', name: 'lookup_account', outcome: 'cancelled' }));
    expect(fake.connections[0]?.functionOutputs).toEqual([]);
    expect(h.manager.activeCount).toBe(0);
  });
});
