/**
 * Provider faults in the middle of a real SIP call (G.722): none ends the call. A failing or silent model
 * gets a spoken apology and the next turn works; a tool that hangs is cut at its deadline (with one filler
 * said while it runs); a failing cloud voice hands the reply to flite; a recogniser whose connection drops
 * is reconnected once, then the live call moves to pocketsphinx.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../../../src/core/logger.ts';
import { DeepgramStt } from '../../../src/providers/deepgram/deepgram-stt.ts';
import { ElevenLabsHttpTts } from '../../../src/providers/elevenlabs/elevenlabs-http-tts.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import { TimeoutLlm } from '../../../src/providers/wrappers/with-timeout.ts';
import { defineTool } from '../../../src/room/define-tool.ts';
import type { LlmProvider, SttProvider, TtsProvider } from '../../../src/providers/types.ts';
import type { Tool } from '../../../src/room/tool.ts';
import type { AgentSpecInput } from '../../../src/config/agent-schema.ts';
import { loadSpeech, startCallHarness, type Phone } from '../../support/call-harness.ts';
import { useOfflineSpeech } from '../../support/offline-speech.ts';
import { FakeDeepgramServer } from '../../support/fake-deepgram-server.ts';
import { FakeElevenLabsServer } from '../../support/fake-elevenlabs-server.ts';
import { recognise } from '../../support/recognise.ts';
import { testAgent } from '../../support/test-agent.ts';

const offline = useOfflineSpeech();
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function call(o: { llm: LlmProvider; stt?: readonly SttProvider[]; tts?: readonly TtsProvider[]; tools?: Tool[]; spec?: Partial<AgentSpecInput> }): Promise<Phone> {
  offline.harness = await startCallHarness({ agent: testAgent({ llm: o.llm, stt: o.stt ?? [offline.speech.stt], tts: o.tts ?? [offline.speech.tts], ...(o.tools === undefined ? {} : { tools: o.tools }), ...(o.spec === undefined ? {} : { spec: o.spec }) }), vad: offline.speech.vad });
  const phone = await offline.harness.dial();
  await phone.leg.answer();
  await phone.silence(200);
  return phone;
}

/** Press a key and wait for the whole spoken answer; returns what pocketsphinx hears in it. */
async function ask(phone: Phone, key: string, quietMs = 900): Promise<string> {
  const from = phone.recording().length;
  const at = performance.now();
  await phone.leg.sendDtmf(key);
  await phone.waitForReply({ after: at, quietMs, timeoutMs: 20_000 });
  return recognise(phone.recording().slice(from), 16000, offline.speech.stt);
}

const events = (): Array<Record<string, unknown> & { type: string }> => (offline.harness?.events.map((e) => e.event) ?? []) as never;

describe('provider faults mid-call', () => {
  it('a model error gets a spoken apology, and the next turn works', async () => {
    const llm = new ScriptedLlm({ turns: [[{ error: new ProviderError('openai', 'CR_PROVIDER_UNAVAILABLE', 'upstream 500', { retryable: true }) }], 'Your order has shipped.'] });
    const phone = await call({ llm, spec: { apology: 'Sorry, I am having trouble right now.' } });
    expect(await ask(phone, '1')).toMatch(/sorry/);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'llm_failed' }));
    expect(await ask(phone, '2')).toMatch(/order/);
    expect(phone.leg.inputFormat).toBeDefined();
    await phone.leg.hangup();
  });

  it('a model that sends nothing is timed out and apologised for', async () => {
    const slow = new ScriptedLlm({ turns: [[{ delayMs: 10_000 }, { text: 'too late' }], 'Back again.'] });
    const llm = new TimeoutLlm(slow, { firstResultMs: 800 });
    const phone = await call({ llm, spec: { apology: 'Sorry, I am having trouble right now.' } });
    expect(await ask(phone, '1')).toMatch(/sorry/);
    // The model was given up at its first-token deadline, long before its 10 s answer would have come.
    const turn = events().find((e) => e.type === 'turn')?.['timing'] as { decidedMs: number } | undefined;
    const failed = events().find((e) => e.type === 'llm_failed') as { atMs: number } | undefined;
    expect((failed?.atMs ?? Infinity) - (turn?.decidedMs ?? 0)).toBeLessThan(3000);
    expect(await ask(phone, '2')).toMatch(/back again/);
    await phone.leg.hangup();
  });

  it('a tool that hangs is cut at its timeout, with one filler said while it runs', async () => {
    const hang = defineTool({ name: 'lookup', description: 'Slow lookup', parameters: z.object({}), timeoutMs: 2500, run: () => new Promise(() => undefined) });
    const llm = new ScriptedLlm({
      turns: [
        [{ toolCall: { name: 'lookup', arguments: {} } }],
        (req) => (req.messages.at(-1)?.content.includes('timed out') === true ? 'Sorry, the order lookup took too long.' : 'Unexpected result.'),
      ],
    });
    const phone = await call({ llm, tools: [hang], spec: { turn: { fillers: ['One moment please.'], fillerAfterMs: 500 } } });
    const heard = await ask(phone, '1', 2500);
    expect(heard).toMatch(/moment/);
    expect(heard).toMatch(/(too|to|two) long/);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'tool_finished', name: 'lookup', outcome: 'timeout' }));
    await phone.leg.hangup();
  });

  it('a failing cloud voice hands the reply to flite', async () => {
    const el = new FakeElevenLabsServer({ apiKey: 'el-key' });
    await el.start();
    stops.push(() => el.stop());
    el.faultsFor = () => ({ status: 500 });
    const cloud = new ElevenLabsHttpTts({ apiKey: 'el-key', baseUrl: el.baseUrl, voiceId: 'v1' });
    const llm = new ScriptedLlm({ turns: ['Your order has shipped.'] });
    const phone = await call({ llm, tts: [cloud, offline.speech.tts] });
    expect(await ask(phone, '1')).toMatch(/order/);
    expect(el.requests.length).toBeGreaterThanOrEqual(1);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'tts_failed', provider: 'elevenlabs', next: 'flite' }));
    await phone.leg.hangup();
  });

  it('a recogniser connection that drops is reconnected once, then the call moves to the offline recogniser', async () => {
    const dg = new FakeDeepgramServer({ apiKey: 'dg-key', transcript: ['never heard'], speechOnly: true });
    await dg.start();
    stops.push(() => dg.stop());
    // Every connection drops after a second of audio.
    dg.faultsFor = () => ({ dropAfterBytes: 32_000, dropCode: 1006 });
    const cloud = new DeepgramStt({ apiKey: 'dg-key', baseUrl: dg.baseUrl, reconnect: { attempts: 0 }, logger: silentLogger() });
    const llm = new ScriptedLlm({ fallback: (req) => `You said ${req.messages.at(-1)?.content ?? ''}.` });
    const phone = await call({ llm, stt: [cloud, offline.speech.stt] });
    // Only speech reaches the recogniser (the speech gate): the caller talks until the call has moved on.
    const deadline = performance.now() + 20_000;
    while (!events().some((e) => e.type === 'stt' && (e['status'] as { provider?: string; type: string }).provider === 'pocketsphinx') && performance.now() < deadline) {
      await phone.play(loadSpeech('package-arrive-slt.wav', 16000), 16000);
    }
    await phone.silence(1500);
    const statuses = events().filter((e) => e.type === 'stt').map((e) => e['status'] as { type: string; provider?: string; willRetry?: boolean });
    expect(statuses.map((s) => `${s.type}:${s.provider}${s.willRetry === undefined ? '' : `:${s.willRetry}`}`)).toEqual([
      'serving:deepgram',
      'failed:deepgram:true',
      'serving:deepgram',
      'failed:deepgram:false',
      'serving:pocketsphinx',
    ]);
    expect(dg.handshakes).toBe(2);
    // The call still hears the caller.
    const at = performance.now();
    await phone.play(loadSpeech('cancel-subscription-slt.wav', 16000), 16000);
    await phone.waitForReply({ after: at + 2500, quietMs: 900 });
    expect(llm.requests.at(-1)?.messages.at(-1)?.content).toMatch(/cancel/);
    await phone.leg.hangup();
  });
});
