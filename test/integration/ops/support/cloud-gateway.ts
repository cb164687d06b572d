/**
 * The gateway as deployed with a cloud agent, for the chaos test and the soak/chaos benches: `callroom serve` in
 * its own process, its agent's recogniser, voice and model being Deepgram, ElevenLabs and OpenAI through their
 * real SDKs against the local wire fakes (in this process), optionally each behind a `ChaosProxy`. Callers are
 * SIPp (PCMU) streaming a question every few seconds; the Deepgram fake "hears" it (speechOnly), the model
 * answers, the voice speaks. Records are read back through the REST API.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulawEncode } from '../../../../src/media/g711.ts';
import { FakeDeepgramServer } from '../../../support/fake-deepgram-server.ts';
import { FakeElevenLabsServer } from '../../../support/fake-elevenlabs-server.ts';
import { FakeOpenAiServer, openAiTextChunks } from '../../../support/fake-openai-server.ts';
import { startGatewayProcess, type GatewayProcess } from '../../../support/gateway-process.ts';
import { allocatePorts, releasePorts } from '../../../support/sip-peers/free-ports.ts';
import { SCENARIO_DIR } from '../../../support/sip-peers/scenarios.ts';
import { loadSpeech } from '../../../support/call-harness.ts';
import { ChaosProxy } from './chaos-proxy.ts';

export const QUESTION = 'what is the status of my order';
export const ANSWER = 'Your order left the warehouse and arrives tomorrow.';

export interface CloudGateway {
  readonly gw: GatewayProcess;
  readonly httpPort: number;
  readonly dir: string;
  readonly dg: FakeDeepgramServer;
  readonly el: FakeElevenLabsServer;
  readonly ai: FakeOpenAiServer;
  /** The providers' proxies, when started with `chaos`. */
  readonly proxies: { readonly stt: ChaosProxy; readonly tts: ChaosProxy; readonly llm: ChaosProxy } | undefined;
  /** A SIPp scenario file: stream the caller's questions for `audio_ms`, then BYE. */
  readonly scenario: string;
  /** Forget what the fakes keep per connection/request (long runs). */
  trimFakes(): void;
  close(): Promise<void>;
}

export interface CloudGatewayOptions {
  readonly calls: number;
  readonly chaos?: boolean;
  readonly seed?: number;
  /** VAD engine (default energy: cheap; the soak uses silero). */
  readonly vad?: 'energy' | 'silero';
  /** Record every call. */
  readonly record?: boolean;
  /** Seconds of the caller's cycle: the question (4.2 s of speech) then silence (default 8). */
  readonly cycleSeconds?: number;
  readonly timeoutMs?: number;
}

/** The caller: a spoken question (flite, 4.2 s) then silence, as raw mu-law (SIPp loops it). */
async function writeCallerAudio(dir: string, cycleSeconds: number): Promise<string> {
  const speech = mulawEncode(loadSpeech('order-status-kal16.wav', 8000));
  const silence = new Uint8Array(Math.max(8000, Math.round(8000 * cycleSeconds) - speech.length)).fill(0xff);
  const file = join(dir, 'caller.ulaw');
  await writeFile(file, Buffer.concat([speech, silence]));
  return file;
}

export async function startCloudGateway(o: CloudGatewayOptions): Promise<CloudGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'callroom-cloud-'));
  const cleanups: Array<() => Promise<void> | void> = [async () => rm(dir, { recursive: true, force: true })];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c();
  };
  try {
    // Seven words at 150 ms a word of loud audio: heard well within the spoken question.
    const dg = new FakeDeepgramServer({ apiKey: 'k', transcript: Array.from({ length: 100_000 }, () => QUESTION), speechOnly: true, wordMs: 150 });
    await dg.start();
    cleanups.push(() => dg.stop());
    const el = new FakeElevenLabsServer({ apiKey: 'k', msPerChar: 40, chunkGapMs: 0 });
    await el.start();
    cleanups.push(() => el.stop());
    const ai = await FakeOpenAiServer.start();
    cleanups.push(() => ai.close());
    ai.recordRequests = false;
    ai.fallback = { chunks: openAiTextChunks(ANSWER.split(/(?<= )/)), chunkDelayMs: 0 };
    let proxies: CloudGateway['proxies'];
    const port = (url: string): number => Number(new URL(url).port);
    if (o.chaos === true) {
      const seed = o.seed ?? 1;
      const stt = await ChaosProxy.start(port(dg.baseUrl), seed);
      const tts = await ChaosProxy.start(port(el.baseUrl), seed + 1);
      const llm = await ChaosProxy.start(port(ai.baseUrl), seed + 2);
      cleanups.push(() => stt.close(), () => tts.close(), () => llm.close());
      proxies = { stt, tts, llm };
    }
    const via = (url: string, proxy: ChaosProxy | undefined): string => (proxy === undefined ? url : url.replace(/:\d+/, `:${proxy.port}`));
    const [httpPort] = (await allocatePorts(1)) as [number];
    cleanups.push(() => releasePorts([httpPort]));
    const gw = await startGatewayProcess({
      transports: ['udp'],
      ...(o.calls * 2 + 20 <= 200 ? { rtpPorts: o.calls * 2 + 20 } : { rtp: { portMin: 20_000, portMax: 29_999 } }),
      sip: { echo: false, codecs: ['PCMU'], limits: { maxDialogs: 5000, maxTransactions: 20000, maxMessageBytes: 65535, maxHeaders: 256, maxLineLength: 8192 } },
      config: {
        http: { enabled: true, host: '127.0.0.1', port: httpPort },
        vad: { engine: o.vad ?? 'energy' },
        limits: { maxConcurrentCalls: 5000, maxCallSeconds: 3600 },
        storage: { dataDir: join(dir, 'data') },
        recording: { enabled: o.record === true, dir: join(dir, 'recordings'), sampleRate: 8000 },
        providers: {
          deepgram: { apiKey: 'k', baseUrl: via(dg.baseUrl, proxies?.stt) },
          elevenlabs: { apiKey: 'k', baseUrl: via(el.baseUrl, proxies?.tts).replace(/\/$/, ''), voiceId: 'v' },
          openai: { apiKey: 'sk', baseUrl: via(ai.baseUrl, proxies?.llm), model: 'm' },
        },
        agents: [{ name: 'cloud', greeting: 'Hello.', llm: { provider: 'openai', firstTokenTimeoutMs: 3000 }, stt: { providers: ['deepgram'] }, tts: { providers: ['elevenlabs', 'flite'] } }],
      },
      timeoutMs: o.timeoutMs ?? 900_000,
      maxLogLines: 2_000_000,
    });
    cleanups.push(async () => {
      if (gw.process.running) await gw.stop(30_000).catch(() => undefined);
    });
    const audio = await writeCallerAudio(dir, o.cycleSeconds ?? 8);
    const template = await readFile(`${SCENARIO_DIR}uac-rtpstream-audio.xml`, 'utf8');
    const scenario = join(dir, 'uac-cloud.xml');
    await writeFile(scenario, template.replace('rtp_stream="@AUDIO_FILE@,1,', `rtp_stream="${audio},-1,`));
    return {
      gw,
      httpPort,
      dir,
      dg,
      el,
      ai,
      proxies,
      scenario,
      trimFakes() {
        dg.connections.splice(0);
        el.requests.splice(0);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A call record as GET /calls/{id} returns it (the parts these tests read). */
export interface CallRecordView {
  readonly id: string;
  readonly state: string;
  readonly createdAt: string;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly transcript: ReadonlyArray<{ readonly role: string; readonly text: string; readonly atMs: number }>;
  readonly turns: ReadonlyArray<{ readonly turn: number; readonly marks: ReadonlyArray<{ readonly name: string; readonly atMs: number }> }>;
}

/** Every call record of the gateway, in full. */
export async function allCallRecords(httpPort: number): Promise<CallRecordView[]> {
  const base = `http://127.0.0.1:${httpPort}`;
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const res = (await (await fetch(`${base}/calls?limit=100&page=${page}`)).json()) as { items: Array<{ id: string }>; total: number };
    ids.push(...res.items.map((i) => i.id));
    if (res.items.length === 0 || ids.length >= res.total) break;
  }
  const out: CallRecordView[] = [];
  for (const id of ids) out.push((await (await fetch(`${base}/calls/${encodeURIComponent(id)}`)).json()) as CallRecordView);
  return out;
}
