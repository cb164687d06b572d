/**
 * A real phone (baresip, G.722) calls the gateway process and talks to an agent, offline: Silero and
 * pocketsphinx hear the question, the agent's model (the real `openai` SDK against a fake OpenAI server)
 * calls an HTTP tool on a local server and answers with its result, flite speaks it, and pocketsphinx
 * recognises the reply as baresip recorded it. A second test runs the built-in demo agent exactly as the
 * default config defines it, asked by a human recording (Debian's Asterisk prompts) and by flite.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../../../src/core/logger.ts';
import { G722Decoder } from '../../../src/media/g722.ts';
import { readWav } from '../../../src/media/wav.ts';
import { FliteTts } from '../../../src/providers/flite/flite-tts.ts';
import { PocketsphinxStt } from '../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { loadSpeech } from '../../support/call-harness.ts';
import { FakeOpenAiServer, openAiTextChunks, openAiToolCallChunks } from '../../support/fake-openai-server.ts';
import { REPO_ROOT } from '../../support/fixture-paths.ts';
import { startGatewayProcess } from '../../support/gateway-process.ts';
import { recognise } from '../../support/recognise.ts';
import { runBaresip } from '../../support/sip-peers/baresip.ts';
import { liveProcesses, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import { writeMonoWav } from '../../support/sip-peers/test-signal.ts';
import { Upstream } from '../../support/upstream-http.ts';

let dir: string;
let stt: PocketsphinxStt;
const stops: Array<() => Promise<void>> = [];

beforeAll(() => {
  stt = new PocketsphinxStt({ logger: silentLogger(), maxQueueMs: 600_000 });
  return () => stt.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-agent-baresip-'));
});

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
  for (const stop of stops.splice(0)) await stop();
  await rm(dir, { recursive: true, force: true });
});

/** `lead` s of silence, the pieces of speech with `gap` s between them, then `tail` s of silence (16 kHz). */
function script(pieces: readonly Int16Array[], o: { lead: number; gap: number; tail: number }): Int16Array {
  const sil = (s: number): Int16Array => new Int16Array(Math.round(16000 * s));
  const parts = [sil(o.lead), ...pieces.flatMap((p, i) => (i === 0 ? [p] : [sil(o.gap), p])), sil(o.tail)];
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One of Debian's Asterisk prompts (a human voice, Allison), G.722 decoded to 16 kHz. */
function humanPrompt(name: string): Int16Array {
  const bytes = readFileSync(`/usr/share/asterisk/sounds/en_US_f_Allison/${name}.g722`);
  return new G722Decoder().decode(bytes);
}

/** Speech from flite (kal16) at 16 kHz. */
async function synthesize(text: string): Promise<Int16Array> {
  const tts = new FliteTts({ voice: 'kal16' });
  const parts: Int16Array[] = [];
  async function* once(): AsyncIterable<string> {
    yield text;
  }
  for await (const c of tts.synthesize({ text: once(), sampleRate: 16000, encoding: 'pcm_s16le' })) if (c.type === 'audio' && c.pcm !== undefined) parts.push(c.pcm);
  await tts.close();
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function callAndRecord(sipPort: number, audio: Int16Array, user: string): Promise<Int16Array> {
  const source = join(dir, `${user}.wav`);
  await writeMonoWav(source, audio, 16000);
  const phone = await runBaresip({ user: 'caller', codecs: ['G722'], audioSource: source, recordDir: join(dir, `rec-${user}`) });
  await phone.ctrl.dial(`sip:${user}@127.0.0.1:${sipPort}`);
  await phone.ctrl.waitForEvent('CALL_ESTABLISHED');
  await phone.ctrl.waitForEvent('CALL_CLOSED', { timeoutMs: 60_000 });
  const file = await phone.waitForRecording('dec');
  await phone.stop();
  const wav = readWav(await readFile(file));
  expect(wav.sampleRate).toBe(16000);
  return wav.samples;
}

describe('baresip talks to an agent in the gateway process (G.722, offline)', () => {
  it('hears the question, runs the HTTP tool, and says its result', async () => {
    const ai = await FakeOpenAiServer.start();
    const orders = new Upstream();
    orders.reply = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"shipped","arrives":"tomorrow"}');
    await orders.start();
    stops.push(() => ai.close(), () => orders.stop());
    ai.enqueue({ chunks: openAiToolCallChunks([{ id: 'call_1', name: 'order_status', argumentChunks: ['{"orderId":', '"4567"}'] }]) });
    ai.enqueue({ chunks: openAiTextChunks(['Your order ', 'has shipped. ', 'It will arrive tomorrow.']) });
    const gw = await startGatewayProcess({
      transports: ['udp'],
      sip: { echo: false, codecs: ['G722'] },
      config: {
        vad: { engine: 'silero' },
        agents: [
          {
            name: 'shop',
            systemPrompt: 'You answer order questions.',
            llm: { provider: 'openai', baseUrl: ai.baseUrl, apiKey: 'sk-test', model: 'gpt-test' },
            stt: { providers: ['pocketsphinx'] },
            tts: { providers: ['flite'], voice: 'kal16' },
            tools: {
              http: [
                {
                  name: 'order_status',
                  description: 'Look up an order',
                  httpMethod: 'GET',
                  baseUrlPattern: `${orders.base}/orders/{orderId}`,
                  dynamicParameters: [{ name: 'orderId', location: 'path', required: true, type: 'string' }],
                  automaticParameters: [{ name: 'callId', location: 'query', knownParam: 'call.id' }],
                },
              ],
            },
          },
        ],
      },
    });
    const heard = await callAndRecord(gw.sipPort, script([loadSpeech('order-status-awb.wav', 16000)], { lead: 1, gap: 0, tail: 9 }), 'shop');
    await gw.stop();
    const words = await recognise(heard, 16000, stt);
    expect(words).toMatch(/shipped/);
    expect(words).toMatch(/tomorrow/);
    expect(orders.seen).toHaveLength(1);
    expect(orders.seen[0]?.rawUrl).toMatch(/^\/orders\/4567\?callId=.+/);
    const userMessage = JSON.stringify(ai.requests[0]?.body);
    expect(userMessage).toMatch(/order number (four|for) five six seven/);
  });

  it('the default config answers with the demo agent: flite asks for an order, a human voice for the time, then goodbye', async () => {
    const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/default.yaml'), 'utf8')) as { agents: unknown[]; sip: { codecs: string[] } };
    const gw = await startGatewayProcess({ transports: ['udp'], sip: { echo: false, codecs: defaults.sip.codecs }, config: { vad: { engine: 'silero' }, agents: defaults.agents } });
    // After the greeting: the order question (flite), Allison's "At the tone the time will be exactly" (a human
    // voice; the demo hears "time"), then "That's all, goodbye" (flite): the demo answers each, then hangs up.
    const goodbye = await synthesize("That's all, thank you. Goodbye.");
    const audio = script([loadSpeech('order-status-kal16.wav', 16000), humanPrompt('at-tone-time-exactly'), goodbye], { lead: 11, gap: 11, tail: 8 });
    const heard = await callAndRecord(gw.sipPort, audio, 'demo');
    const [ended] = await gw.waitForLog('call ended');
    await gw.stop();
    const words = await recognise(heard, 16000, stt);
    // pocketsphinx hears "Callroom demo" as anything but; the greeting's opening and the logged text are enough.
    expect(words).toMatch(/^hello this is/);
    expect(gw.logsWith('transcript')[0]).toMatchObject({ role: 'assistant', transcript: expect.stringContaining('Callroom demo agent') });
    expect(words).toMatch(/(four|for) five six seven/);
    // The agent understood the human voice and told the time ("It is 6:36 PM"). The words come from the clock, so
    // what pocketsphinx makes of them changes through the day (at 1 AM it missed the "a m"): the log says what was
    // said, and the phrases around it above and below show that the agent's audio reached the phone.
    expect(gw.logsWith('transcript').filter((l) => l.role === 'user').some((l) => /\btime\b/.test(String(l.transcript)))).toBe(true);
    expect(gw.logsWith('transcript').some((l) => /^It is \d{1,2}:\d{2} (AM|PM)\b/.test(String(l.transcript)))).toBe(true);
    expect(words).toMatch(/good ?bye/);
    // The agent ended the call (its hangUp tool), before baresip's file ran out.
    expect(ended).toMatchObject({ reason: 'local-hangup' });
    // The caller's audio alone runs ~50 s (three prompts with the agent's answers between them).
  }, 150_000);
});
