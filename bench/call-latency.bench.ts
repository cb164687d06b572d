/**
 * What a caller experiences of the call session, on one call at a time over real SIP/RTP between two
 * Callroom user agents on loopback (the phone is in this process; its clock is the gateway's):
 * - Gateway-added latency: the turn decided (endpoint + final text) -> the first RTP packet of the reply
 *   at the phone, split into model first token, first TTS audio written, and the packet; with zero-latency
 *   fakes (OpenAI, ElevenLabs, Deepgram through their real SDKs) and with the offline engines (pocketsphinx,
 *   flite, a scripted model).
 * - Endpointing delay: the caller's true speech end (from the fixture) -> turn decided.
 * - Barge-in: the caller's speech onset (fixture) -> the last packet of the interrupted reply.
 * - False barge-ins on the agent's own voice fed back at -10 dB (100-300 ms late) and on noise bursts.
 */
import { silentLogger } from '../src/core/logger.ts';
import { mulawEncode } from '../src/media/g711.ts';
import { DeepgramStt } from '../src/providers/deepgram/deepgram-stt.ts';
import { ElevenLabsHttpTts } from '../src/providers/elevenlabs/elevenlabs-http-tts.ts';
import { FliteTts } from '../src/providers/flite/flite-tts.ts';
import { ScriptedLlm } from '../src/providers/mock/scripted-llm.ts';
import { OpenAiLlm } from '../src/providers/openai/openai-llm.ts';
import { PocketsphinxStt } from '../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import type { LlmProvider, SttProvider, TtsProvider } from '../src/providers/types.ts';
import { SileroVad } from '../src/vad/silero-vad.ts';
import { loadSpeech, startCallHarness, type CallHarness, type Phone } from '../test/support/call-harness.ts';
import { FakeDeepgramServer } from '../test/support/fake-deepgram-server.ts';
import { FakeElevenLabsServer } from '../test/support/fake-elevenlabs-server.ts';
import { FakeOpenAiServer, openAiTextChunks } from '../test/support/fake-openai-server.ts';
import { testAgent } from '../test/support/test-agent.ts';
import { percentile, type BenchResult } from './types.ts';

const TURNS = 12;
const QUESTION = 'order-status-kal16.wav';
const QUESTION_END_MS = 4147;
const QUESTION_WORDS = 'i would like to check the status of my order number four five six seven';
const ANSWER = 'Sure. Your order left the warehouse and arrives tomorrow.';

interface TurnSample {
  endpointing: number;
  added: number;
  llm: number;
  tts: number;
  packet: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Absolute (performance.now) time the gateway answered, from its 'answered' event. */
function answeredAt(h: CallHarness): Promise<number> {
  return new Promise((resolve) => {
    const off = h.manager.onCallEvent((e) => {
      if (e.event.type === 'answered') {
        off();
        resolve(performance.now());
      }
    });
  });
}

async function turns(h: CallHarness, phone: Phone, answered: number, codec: 'PCMU' | 'G722', onTurn: () => void): Promise<TurnSample[]> {
  const samples: TurnSample[] = [];
  const rate = codec === 'PCMU' ? 8000 : 16000;
  const speech = loadSpeech(QUESTION, rate);
  for (let i = 0; i < TURNS; i++) {
    onTurn();
    const before = h.events.filter((e) => e.event.type === 'turn').length;
    const start = performance.now();
    if (codec === 'PCMU') {
      const bytes = mulawEncode(speech);
      for (let at = 0; at < bytes.length; at += 160) await phone.leg.writeEncoded(bytes.subarray(at, at + 160), 'mulaw');
      await phone.leg.drained();
    } else {
      await phone.play(speech, rate);
    }
    const trueEnd = start + QUESTION_END_MS;
    await phone.waitForReply({ after: start + QUESTION_END_MS, quietMs: 700, timeoutMs: 30_000 });
    const turnEvent = h.events.filter((e) => e.event.type === 'turn')[before]?.event;
    if (turnEvent?.type !== 'turn') continue;
    const t = turnEvent.timing;
    const decided = answered + t.decidedMs;
    const firstPacket = phone.spurts.find((s) => s > decided);
    if (firstPacket === undefined || t.firstAudioMs === undefined || t.llmFirstTokenMs === undefined) continue;
    samples.push({
      endpointing: decided - trueEnd,
      added: firstPacket - decided,
      llm: t.llmFirstTokenMs - t.decidedMs,
      tts: t.firstAudioMs - t.decidedMs,
      packet: firstPacket - (answered + t.firstAudioMs),
    });
    await sleep(300);
  }
  return samples;
}

function report(label: string, s: readonly TurnSample[]): BenchResult[] {
  const out: BenchResult[] = [];
  for (const [key, what] of [
    ['added', 'turn decided -> first RTP packet'],
    ['llm', 'turn decided -> model first token'],
    ['tts', 'turn decided -> first TTS audio written'],
    ['packet', 'first audio written -> first RTP packet at phone'],
    ['endpointing', 'true speech end -> turn decided'],
  ] as const) {
    const v = s.map((x) => x[key]);
    out.push({ name: `${label} ${key} p50`, value: percentile(v, 50), unit: 'ms', note: what });
    out.push({ name: `${label} ${key} p95`, value: percentile(v, 95), unit: 'ms', note: `${v.length} turns` });
  }
  return out;
}

async function cloud(vad: SileroVad): Promise<BenchResult[]> {
  const dg = new FakeDeepgramServer({ apiKey: 'k', transcript: Array.from({ length: TURNS + 2 }, () => QUESTION_WORDS), speechOnly: true, wordMs: 150 });
  await dg.start();
  const el = new FakeElevenLabsServer({ apiKey: 'k', msPerChar: 40, chunkGapMs: 0 });
  await el.start();
  const ai = await FakeOpenAiServer.start();
  const llm: LlmProvider = new OpenAiLlm({ apiKey: 'sk', baseUrl: ai.baseUrl, model: 'm' });
  const stt: SttProvider = new DeepgramStt({ apiKey: 'k', baseUrl: dg.baseUrl, reconnect: { attempts: 0 }, logger: silentLogger() });
  const tts: TtsProvider = new ElevenLabsHttpTts({ apiKey: 'k', baseUrl: el.baseUrl, voiceId: 'v' });
  const h = await startCallHarness({ agent: testAgent({ llm, stt: [stt], tts: [tts] }), vad, gatewayCodecs: ['PCMU'] });
  try {
    const answered = answeredAt(h);
    const phone = await h.dial();
    await phone.leg.answer();
    const t0 = await answered;
    await phone.silence(500);
    const s = await turns(h, phone, t0, 'PCMU', () => ai.enqueue({ chunks: openAiTextChunks(ANSWER.split(/(?<= )/)), chunkDelayMs: 0 }));
    return report('cloud fakes (PCMU)', s);
  } finally {
    await h.close();
    await dg.stop();
    await el.stop();
    await ai.close();
  }
}

async function offline(vad: SileroVad): Promise<BenchResult[]> {
  const stt = new PocketsphinxStt({ logger: silentLogger() });
  const tts = new FliteTts({ voice: 'kal16' });
  const llm = new ScriptedLlm({ fallback: ANSWER });
  const h = await startCallHarness({ agent: testAgent({ llm, stt: [stt], tts: [tts] }), vad, gatewayCodecs: ['G722'] });
  try {
    const answered = answeredAt(h);
    const phone = await h.dial();
    await phone.leg.answer();
    const t0 = await answered;
    await phone.silence(500);
    return report('offline (G.722, pocketsphinx + flite)', await turns(h, phone, t0, 'G722', () => undefined));
  } finally {
    await h.close();
    await stt.close();
    await tts.close();
  }
}

const LONG = 'Your order left our warehouse this morning. It is travelling with our courier and should reach you tomorrow before noon. You will get a text message with a tracking link.';

async function bargeIn(vad: SileroVad): Promise<BenchResult[]> {
  const stt = new PocketsphinxStt({ logger: silentLogger() });
  const tts = new FliteTts({ voice: 'kal16' });
  const llm = new ScriptedLlm({ fallback: LONG });
  const h = await startCallHarness({ agent: testAgent({ llm, stt: [stt], tts: [tts], spec: { turn: { echoGuard: true } } }), vad, gatewayCodecs: ['G722'] });
  const stops: number[] = [];
  let falseOnEcho = 0;
  let falseOnNoise = 0;
  const trials = 8;
  try {
    const phone = await h.dial();
    phone.keepArrivals = true;
    await phone.leg.answer();
    await phone.silence(300);
    const interrupt = loadSpeech('cancel-subscription-slt.wav', 16000);
    for (let i = 0; i < trials; i++) {
      // Start a reply with keys (no speech to recognise), then talk over it 1.5 s in.
      const at = performance.now();
      await phone.leg.sendDtmf('1');
      const deadline = at + 10_000;
      while (phone.spurts.find((s) => s > at) === undefined && performance.now() < deadline) await sleep(10);
      await sleep(1500);
      const bargesBefore = h.events.filter((e) => e.event.type === 'barge_in').length;
      const playStart = performance.now();
      const onset = playStart + 220;
      await phone.play(interrupt, 16000);
      await phone.waitForReply({ after: playStart + 2600, quietMs: 700, timeoutMs: 30_000 });
      if (h.events.filter((e) => e.event.type === 'barge_in').length === bargesBefore) continue;
      // The interrupted reply's last packet: the last arrival before the first gap of 150 ms after the onset.
      const after = phone.arrivals.filter((t) => t >= playStart - 100);
      let last = onset;
      for (let k = 0; k + 1 < after.length; k++) {
        if ((after[k + 1] as number) - (after[k] as number) > 150 && (after[k] as number) >= onset - 100) {
          last = after[k] as number;
          break;
        }
      }
      stops.push(last - onset);
      await sleep(500);
    }
    // False barge-ins: the reply fed back at -10 dB with 100-300 ms delay, then noise bursts during replies.
    for (let i = 0; i < 4; i++) {
      const before = h.events.filter((e) => e.event.type === 'barge_in').length;
      const at = performance.now();
      phone.echoBack(-10, 100 + i * 60);
      await phone.leg.sendDtmf('2');
      await phone.waitForReply({ after: at + 1000, quietMs: 1500, timeoutMs: 30_000 });
      phone.noEcho();
      falseOnEcho += h.events.filter((e) => e.event.type === 'barge_in').length - before;
      const nb = h.events.filter((e) => e.event.type === 'barge_in').length;
      const at2 = performance.now();
      await phone.leg.sendDtmf('3');
      await sleep(2000);
      await phone.play(Int16Array.from({ length: 6400 }, () => Math.round((Math.random() * 2 - 1) * 6000)), 16000);
      await phone.waitForReply({ after: at2 + 1000, quietMs: 1500, timeoutMs: 30_000 });
      falseOnNoise += h.events.filter((e) => e.event.type === 'barge_in').length - nb;
    }
  } finally {
    await h.close();
    await stt.close();
    await tts.close();
  }
  return [
    { name: 'barge-in onset -> last packet p50', value: percentile(stops, 50), unit: 'ms', note: `${stops.length}/${trials} trials barged in` },
    { name: 'barge-in onset -> last packet p95', value: percentile(stops, 95), unit: 'ms' },
    { name: 'false barge-ins, own voice at -10 dB', value: falseOnEcho, unit: 'of 4 replies' },
    { name: 'false barge-ins, 400 ms noise burst', value: falseOnNoise, unit: 'of 4 replies' },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const vad = await SileroVad.load({ version: 'v5' });
  try {
    return [...(await cloud(vad)), ...(await offline(vad)), ...(await bargeIn(vad))];
  } finally {
    await vad.close();
  }
}
