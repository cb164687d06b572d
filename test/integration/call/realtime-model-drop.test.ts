/**
 * A speech-to-speech call whose model connection fails (real OpenAI SDK, fake server, real SIP/RTP): a
 * dropped socket is survived with a new session (`onDrop: reconnect`) — told the conversation so far, the
 * call goes on and the caller is answered by the new session — or ends the call with a clear reason
 * (`onDrop: end`); a model that cannot be reached at all ends the call saying so; malformed model messages
 * change nothing. Never a crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent } from '../../support/realtime-call-agents.ts';
import { dialRealtime, sleep, until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allisonMulaw, heardPackets, heardWhole, taggedVoice } from '../../support/realtime-call-phone.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fakeModel(): Promise<FakeOpenAiRealtimeServer> {
  const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', vadSilenceMs: 300, userTranscript: 'please try again' });
  await fake.start();
  cleanup.push(() => fake.stop());
  return fake;
}

describe('speech-to-speech: the model connection fails', () => {
  it('onDrop reconnect: a dropped socket mid-answer is replaced by a new session and the call goes on', async () => {
    const fake = await fakeModel();
    const first = taggedVoice('hello-world', 3000);
    fake.plans.push({ audio: first, transcript: 'first answer' });
    const { line, events, phone } = await dialRealtime(cleanup, openAiAgent(fake, { realtime: { onDrop: 'reconnect' } }));
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    fake.connections[0]?.sendMalformedBatch();
    await line.say(allisonMulaw('please-try-again'));
    await until(() => heardPackets(line.heard, first).size > 25, 10_000, 'the first answer playing');
    fake.connections[0]?.drop(1006);
    await fake.waitFor(() => fake.connections[1]?.session !== undefined, 5000, 'a new session');
    expect(fake.handshakes).toBe(2);
    // The new session is told the conversation so far (the caller's words as transcribed, the answer as far
    // as it played) before any caller audio reaches it.
    await fake.waitFor(() => (fake.connections[1]?.messageItems.length ?? 0) > 0, 5000, 'the conversation replayed');
    const replayed = fake.connections[1]?.clientEvents ?? [];
    const firstItem = replayed.findIndex((e) => e.type === 'conversation.item.create');
    const firstAudio = replayed.findIndex((e) => e.type === 'input_audio_buffer.append');
    expect(firstAudio === -1 || firstItem < firstAudio).toBe(true);
    expect(fake.connections[1]?.messageItems[0]).toEqual({ role: 'user', text: 'please try again' });
    expect(fake.connections[1]?.messageItems.every((m) => m.role === 'user' || m.role === 'assistant')).toBe(true);

    // The new session takes the caller's next turn and answers it.
    const second = taggedVoice('goodbye', 1500);
    fake.plans.push({ audio: second, transcript: 'second answer' });
    await sleep(500);
    await line.say(allisonMulaw('please-try-again'));
    await until(() => heardWhole(line.heard, second), 10_000, 'the answer of the new session').catch((err: unknown) => {
      const c = fake.connections[1];
      console.log(JSON.stringify({ events: events().map((e) => e.type), c1: c?.clientEvents.filter((e) => e.type !== 'input_audio_buffer.append').map((e) => e.type), audio: c?.audioBytes, responses: c?.responses, heard: heardPackets(line.heard, second).size }));
      throw err;
    });
    expect(fake.connections[1]?.audioBytes).toBeGreaterThan(8 * 1000);
    const ev = events();
    expect(ev).toContainEqual(expect.objectContaining({ type: 'llm_failed', error: expect.stringMatching(/socket closed mid-session \(1006\).*reopening a new session/) }));
    expect(ev.some((e) => e.type === 'ended')).toBe(false);
    expect(phone.leg.outputPosition().playedMs).toBeGreaterThan(0);
  });

  it('onDrop end: a dropped socket ends the call, saying why', async () => {
    const fake = await fakeModel();
    const { events, phone } = await dialRealtime(cleanup, openAiAgent(fake, { realtime: { onDrop: 'end' } }));
    await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
    fake.connections[0]?.drop(1011);
    expect(await phone.leg.ended).toMatchObject({ reason: 'remote-hangup' });
    await until(() => events().some((e) => e.type === 'ended'), 5000, 'ended');
    const ended = events().find((e) => e.type === 'ended');
    expect(ended).toMatchObject({
      end: { reason: 'error', detail: expect.stringMatching(/^realtime model connection lost \(openai-realtime: socket closed mid-session \(1011 internal server error\)\); the agent ends calls whose model drops$/) },
    });
    expect(fake.handshakes).toBe(1);
  });

  it('a model that cannot be reached ends the call with the reason', async () => {
    const fake = await fakeModel();
    fake.faultsFor = () => ({ handshakeStatus: 503 });
    const { events, phone } = await dialRealtime(cleanup, openAiAgent(fake));
    expect(await phone.leg.ended).toMatchObject({ reason: 'remote-hangup' });
    await until(() => events().some((e) => e.type === 'ended'), 5000, 'ended');
    expect(events().find((e) => e.type === 'ended')).toMatchObject({ end: { reason: 'error', detail: expect.stringMatching(/^realtime model unavailable \(.*503/) } });
  });
});
