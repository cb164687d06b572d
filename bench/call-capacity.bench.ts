/**
 * How many concurrent agent calls one gateway process holds on this machine with the cloud providers: the
 * gateway (`callroom serve`, its own process) runs Silero VAD and a cascade agent whose recogniser, voice and
 * model are Deepgram, ElevenLabs and OpenAI through their real SDKs against the local wire fakes (in this
 * process); SIPp places N calls (PCMU) that each ask the question three times (flite speech from the fixtures,
 * streamed with SIPp's rtp_stream). For each N: the gateway-added latency of every turn (turn decided -> first
 * RTP packet of the reply, from the gateway's per-turn log line), p50/p95, the gateway's CPU, and the machine.
 * The capacity is the largest N whose p95 stays under 100 ms.
 *
 * `npx node bench/run.ts call-capacity [N ...]` (default 50 100 200 300).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulawEncode } from '../src/media/g711.ts';
import { loadSpeech } from '../test/support/call-harness.ts';
import { FakeDeepgramServer } from '../test/support/fake-deepgram-server.ts';
import { FakeElevenLabsServer } from '../test/support/fake-elevenlabs-server.ts';
import { FakeOpenAiServer, openAiTextChunks } from '../test/support/fake-openai-server.ts';
import { startGatewayProcess } from '../test/support/gateway-process.ts';
import { SCENARIO_DIR } from '../test/support/sip-peers/scenarios.ts';
import { describeSippResult, startSipp } from '../test/support/sip-peers/sipp.ts';
import { allocatePortBlock } from '../test/support/sip-peers/free-ports.ts';
import { machineSnapshot } from './sip-load-harness.ts';
import { percentile, type BenchResult } from './types.ts';

const QUESTION_WORDS = 'i would like to check the status of my order number four five six seven';
const ANSWER = 'Sure. Your order left the warehouse and arrives tomorrow.';
const REPEATS = 3;
const GAP_S = 6;

/** The caller's audio: the question, then silence for the answer, three times (raw mu-law, 8 kHz). */
async function writeCallerAudio(dir: string): Promise<{ file: string; ms: number }> {
  const q = mulawEncode(loadSpeech('order-status-kal16.wav', 8000));
  const gap = new Uint8Array(8000 * GAP_S).fill(0xff);
  const parts: Uint8Array[] = [new Uint8Array(8000).fill(0xff)];
  for (let i = 0; i < REPEATS; i++) parts.push(q, gap);
  const file = join(dir, 'caller.ulaw');
  await writeFile(file, Buffer.concat(parts));
  return { file, ms: Math.round((parts.reduce((n, p) => n + p.length, 0) / 8000) * 1000) };
}

async function run1(n: number, dir: string, audio: { file: string; ms: number }): Promise<BenchResult[]> {
  const dg = new FakeDeepgramServer({ apiKey: 'k', transcript: Array.from({ length: 20_000 }, () => QUESTION_WORDS), speechOnly: true, wordMs: 150 });
  await dg.start();
  const el = new FakeElevenLabsServer({ apiKey: 'k', msPerChar: 40, chunkGapMs: 0 });
  await el.start();
  const ai = await FakeOpenAiServer.start();
  ai.recordRequests = false;
  ai.fallback = { chunks: openAiTextChunks(ANSWER.split(/(?<= )/)), chunkDelayMs: 0 };
  const gw = await startGatewayProcess({
    transports: ['udp'],
    rtpPorts: Math.min(2000, n * 2 + 20),
    sip: { echo: false, codecs: ['PCMU'], limits: { maxDialogs: 5000, maxTransactions: 20000, maxMessageBytes: 65535, maxHeaders: 256, maxLineLength: 8192 } },
    config: {
      vad: { engine: 'silero' },
      limits: { maxConcurrentCalls: 5000, maxCallSeconds: 3600 },
      providers: {
        deepgram: { apiKey: 'k', baseUrl: dg.baseUrl },
        elevenlabs: { apiKey: 'k', baseUrl: el.baseUrl.replace(/\/$/, ''), voiceId: 'v' },
        openai: { apiKey: 'sk', baseUrl: ai.baseUrl, model: 'm' },
      },
      agents: [{ name: 'cloud', llm: { provider: 'openai' }, stt: { providers: ['deepgram'] }, tts: { providers: ['elevenlabs'] } }],
    },
    timeoutMs: 900_000,
    maxLogLines: 2_000_000,
  });
  const template = await readFile(`${SCENARIO_DIR}uac-rtpstream-audio.xml`, 'utf8');
  const scenario = join(dir, `uac-${n}.xml`);
  await writeFile(scenario, template.replace('rtp_stream="@AUDIO_FILE@,', `rtp_stream="${audio.file},`));
  const machine = machineSnapshot();
  const cpu0 = gw.cpuTimeMs();
  const t0 = performance.now();
  const rate = Math.max(5, Math.ceil(n / 20));
  const mediaPort = await allocatePortBlock(4);
  const sipp = await startSipp({
    scenario: { file: scenario },
    target: gw.target,
    mediaPort,
    calls: n,
    rate,
    ratePeriodMs: 1000,
    maxConcurrent: n,
    keys: { audio_ms: audio.ms + 3000 },
    traceStat: { periodS: 5 },
    timeoutMs: (n / rate) * 1000 + audio.ms + 120_000,
  });
  const result = await sipp.done;
  const wallMs = performance.now() - t0;
  const cpu = (gw.cpuTimeMs() - cpu0) / wallMs;
  await new Promise((r) => setTimeout(r, 1500));
  const turns = gw.logsWith('turn').map((l) => l['timing'] as { decidedMs: number; firstPacketMs?: number; firstAudioMs?: number });
  const added = turns.flatMap((t) => (t.firstPacketMs === undefined ? [] : [t.firstPacketMs - t.decidedMs]));
  const ended = gw.logsWith('call ended').length;
  await gw.stop(15_000).catch(() => undefined);
  await dg.stop();
  await el.stop();
  await ai.close();
  const failed = result.stats?.failedCalls ?? (result.exitCode === 0 ? 0 : n);
  return [
    { name: `${n} calls: added p50`, value: percentile(added, 50), unit: 'ms', note: `${added.length} turns of ${n * REPEATS} asked` },
    { name: `${n} calls: added p95`, value: percentile(added, 95), unit: 'ms', note: `calls ended ${ended}, SIPp failed ${failed}` },
    { name: `${n} calls: gateway CPU`, value: Math.round(cpu * 100), unit: '% of a core', note: machine },
  ].concat(failed > 0 ? [{ name: `${n} calls: SIPp`, value: failed, unit: 'failed', note: describeSippResult(result).slice(0, 200) }] : []);
}

export async function run(): Promise<BenchResult[]> {
  const ns = process.argv.slice(3).map(Number).filter((x) => x > 0);
  const dir = await mkdtemp(join(tmpdir(), 'callroom-capacity-'));
  try {
    const audio = await writeCallerAudio(dir);
    const out: BenchResult[] = [];
    for (const n of ns.length > 0 ? ns : [50, 100, 200, 300]) out.push(...(await run1(n, dir, audio)));
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
