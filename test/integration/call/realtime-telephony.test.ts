/**
 * Speech-to-speech over a telephony bridge (Twilio Media Streams, the scripted Twilio client of the bridge
 * tests, over a real WebSocket): Twilio's mu-law reaches the OpenAI model as it was on the wire (the bridge's
 * `onEncoded`, no transcoding), and the model's mu-law answer goes back in Twilio `media` messages, every
 * 20 ms packet of it unchanged and in order.
 */
import alawmulaw from 'alawmulaw';
import { afterEach, describe, expect, it } from 'vitest';
import { EnergyVad } from '../../../src/vad/energy-vad.ts';
import { FakeOpenAiRealtimeServer } from '../../support/fake-openai-realtime-server.ts';
import { openAiAgent } from '../../support/realtime-call-agents.ts';
import { until, type Cleanup } from '../../support/realtime-call-harness.ts';
import { allison, heardWhole, taggedVoice } from '../../support/realtime-call-phone.ts';
import { playRealtime, silence } from '../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY } from '../../support/telephony-harness.ts';
import { TwilioClient } from '../../support/telephony-json-clients.ts';
import { resampleBuffer } from '../../../src/media/resample/index.ts';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const endpoint = { path: '/telephony/twilio', dialect: 'twilio', apiKeys: [TEST_KEY] };

/** A tagged model voice; -0 (0x7F) comes back as +0 from a decode/encode round trip, so it is not used. */
function voice(name: string, ms: number): Uint8Array {
  return taggedVoice(name, ms).map((b) => (b === 0x7f ? 0x7e : b));
}

/** The audio of the Twilio `media` messages the client received, in order. */
function mediaOf(client: TwilioClient): Array<{ bytes: Uint8Array }> {
  return (client.peer?.texts ?? [])
    .filter((t) => t.json?.['event'] === 'media')
    .map((t) => ({ bytes: new Uint8Array(Buffer.from(String((t.json?.['media'] as Record<string, unknown>)['payload']), 'base64')) }));
}

/** A Twilio-dialect call to an OpenAI speech-to-speech agent whose fake model speaks `plans` in turn. */
async function twilioCall(plans: FakeOpenAiRealtimeServer['plans']) {
  const fake = new FakeOpenAiRealtimeServer({ apiKey: 'sk-test', vadSilenceMs: 300 });
  await fake.start();
  cleanup.push(() => fake.stop());
  fake.plans.push(...plans);
  const h = await startTelephonyHarness({ telephony: { endpoints: [endpoint] }, agent: openAiAgent(fake), vad: new EnergyVad() });
  cleanup.push(() => h.close());
  const client = new TwilioClient(h.wsUrl(endpoint.path), { token: TEST_KEY });
  cleanup.push(() => client.close());
  await client.start();
  await fake.waitFor(() => fake.connections[0]?.session !== undefined, 5000, 'session.update');
  return { fake, h, client, conn: fake.connections[0] };
}

describe('speech-to-speech over the Twilio Media Streams bridge', () => {
  it('passes Twilio mu-law to the model as it came, and the model mu-law back packet by packet', async () => {
    const answer = voice('hello-world', 1200);
    const { fake, h, client, conn } = await twilioCall([{ audio: answer, transcript: 'Hello world' }]);
    expect(conn?.session).toMatchObject({ audio: { input: { format: { type: 'audio/pcmu' } }, output: { format: { type: 'audio/pcmu' } } } });

    const speech = resampleBuffer(allison('please-try-again'), 16000, 8000);
    const talking = (async () => {
      await playRealtime(client, speech);
      await silence(client, 2500);
    })();
    cleanup.push(() => talking);
    const media = (): Array<{ bytes: Uint8Array }> => mediaOf(client);
    await until(() => heardWhole(media(), answer), 10_000, 'the answer in Twilio media', () => media().length);

    // In: the caller's mu-law, byte for byte as Twilio sent it (the client encodes with the reference codec).
    const sent = alawmulaw.mulaw.encode(speech);
    const got = Buffer.concat(conn?.audio ?? []);
    expect(got.length).toBeGreaterThan(sent.length);
    expect(Buffer.compare(got.subarray(0, sent.length - (sent.length % 160)), Buffer.from(sent.subarray(0, sent.length - (sent.length % 160))))).toBe(0);
    expect(h.events.map((e) => e.event.type)).toEqual(expect.arrayContaining(['answered', 'transcript']));
  });

  it('caller keys reach the model as one text message and it answers them; keys over an answer cut it', async () => {
    const long = voice('hello-world', 4000);
    const short = voice('you-entered', 600);
    const { h, client, conn } = await twilioCall([
      { audio: long, transcript: 'Here are all the options', speed: 1, burstMs: 40 },
      { audio: short, transcript: 'You chose one two' },
    ]);
    const talking = (async () => {
      await playRealtime(client, resampleBuffer(allison('please-try-again'), 16000, 8000));
      await silence(client, 6000);
    })();
    cleanup.push(() => talking);
    const media = (): Array<{ bytes: Uint8Array }> => mediaOf(client);
    // The long answer is playing: the caller keys in "1 2 #".
    await until(() => media().length >= 10, 10_000, 'the long answer starting', () => media().length);
    for (const d of ['1', '2', '#']) client.sendDtmf(d);
    await until(() => heardWhole(media(), short), 10_000, 'the answer to the keys', () => media().length);
    expect(conn?.userTexts).toEqual(['[The caller pressed 1 2 # on the keypad]']);
    // The long answer was cut (cancelled at the keys, so not heard whole) and Twilio was told to clear.
    expect(heardWhole(media(), long)).toBe(false);
    expect(conn?.responses[0]?.status).toBe('cancelled');
    expect((client.peer?.texts ?? []).some((t) => t.json?.['event'] === 'clear')).toBe(true);
    const events = h.events.map((e) => e.event);
    expect(events.filter((e) => e.type === 'dtmf').map((e) => (e as { digit: string }).digit)).toEqual(['1', '2', '#']);
    expect(events).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'transcript', role: 'user', text: '[The caller pressed 1 2 # on the keypad]', final: true })]));
  });
});
