/**
 * One agent call over a scripted telephony platform, the same for every dialect: the caller asks a
 * question (recorded speech), the agent answers (flite), the caller talks over the answer (the platform's
 * flush must come, or for AudioSocket the audio must stop), presses a key, and hangs up. The caller's line
 * streams continuously, as platforms do: silence between the utterances.
 */
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import { FliteTts } from '../../src/providers/flite/flite-tts.ts';
import { ScriptedLlm } from '../../src/providers/mock/scripted-llm.ts';
import { SileroVad } from '../../src/vad/silero-vad.ts';
import { loadSpeech } from './call-harness.ts';
import { firstLoud, type PlatformClient } from './telephony-client.ts';
import { EnergyStt } from './telephony-fake-stt.ts';
import type { TelephonyHarness } from './telephony-harness.ts';
import { testAgent } from './test-agent.ts';

/** Fixture speech (manifest: onset 230 ms, 2.66 s). */
export const QUESTION = 'package-arrive-slt.wav';
/** Fixture speech (manifest: onset 220 ms). */
export const INTERRUPTION = 'cancel-subscription-slt.wav';
export const INTERRUPTION_ONSET_MS = 220;

/** A long reply, so the caller can talk over it. */
export const LONG_REPLY =
  'Your package left our warehouse this morning. It is travelling with our courier and should reach you tomorrow before noon. ' +
  'You will get a text message with a tracking link, and if nobody is home the courier will leave it with a neighbour.';

/** Sends the caller's audio every 20 ms on an absolute schedule: queued speech, else silence. */
export class CallerLine {
  readonly #client: PlatformClient;
  readonly #step: number;
  #queue: Array<{ pcm: Int16Array; done: () => void }> = [];
  #offset = 0;
  #timer: NodeJS.Timeout | undefined;
  #start = 0;
  #n = 0;
  #stopped = false;

  constructor(client: PlatformClient) {
    this.#client = client;
    this.#step = client.rate / 50;
  }

  start(): void {
    this.#start = performance.now();
    this.#tick();
  }

  /** Queue speech; resolves when its last frame was sent. */
  say(pcm: Int16Array): Promise<void> {
    return new Promise((resolve) => this.#queue.push({ pcm, done: resolve }));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const q of this.#queue.splice(0)) q.done();
  }

  #tick = (): void => {
    if (this.#stopped) return;
    const frame = new Int16Array(this.#step);
    const head = this.#queue[0];
    if (head !== undefined) {
      frame.set(head.pcm.subarray(this.#offset, Math.min(head.pcm.length, this.#offset + this.#step)));
      this.#offset += this.#step;
      if (this.#offset >= head.pcm.length) {
        this.#queue.shift();
        this.#offset = 0;
        head.done();
      }
    }
    try {
      this.#client.sendFrame(frame);
    } catch {
      // The connection may be gone; the test sees that elsewhere.
    }
    this.#n++;
    this.#timer = setTimeout(this.#tick, Math.max(0, this.#start + this.#n * 20 - performance.now()));
  };
}

export interface ScenarioResult {
  readonly askedAt: number;
  readonly replyStart: number;
  /** Caller speech onset of the interruption. */
  readonly onset: number;
  /** The flush message's arrival (undefined for AudioSocket). */
  readonly flushAt: number | undefined;
  /** The last loud reply audio heard before the interruption was handled. */
  readonly lastReplyAudioAt: number;
  /** Gaps between consecutive reply messages, normalized to ms per ms of audio, during the steady part. */
  readonly gapsMs: number[];
  /**
   * Most audio received ahead of real time since the reply's first message, ms (the audio in the first
   * message itself counts as ahead).
   */
  readonly maxLeadMs: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Run the call. `flush`: the platform gets a flush message on barge-in (all but AudioSocket). The call's
 * events are in `harness.events`; the caller hangs up at the end and the call's `ended` event is awaited.
 */
export async function runAgentScenario(harness: TelephonyHarness, client: PlatformClient, flush: boolean): Promise<ScenarioResult> {
  await client.start();
  await harness.event((e) => e.event.type === 'answered');
  const line = new CallerLine(client);
  line.start();
  try {
    await sleep(300);
    const askedAt = performance.now();
    await line.say(loadSpeech(QUESTION, client.rate));
    // The reply: the first loud audio after the question.
    const deadline = performance.now() + 10_000;
    while (firstLoud(client, askedAt + 2000) === undefined) {
      if (performance.now() > deadline) throw new Error(`no reply heard; events ${harness.events.map((e) => e.event.type).join(',')}`);
      await sleep(10);
    }
    const replyStart = (firstLoud(client, askedAt + 2000) as { at: number }).at;
    // The reply's first message (it may start with quiet samples): nothing else is said before it.
    const firstIndex = client.heard.findIndex((f) => f.at > askedAt);
    const firstAt = (client.heard[firstIndex] as { at: number }).at;
    // Let 1.2 s of the reply play, then talk over it.
    await sleep(Math.max(0, replyStart + 1200 - performance.now()));
    const steady = client.heard.slice(firstIndex);
    const sayAt = performance.now();
    const onset = sayAt + INTERRUPTION_ONSET_MS;
    const interruption = line.say(loadSpeech(INTERRUPTION, client.rate));
    let flushAt: number | undefined;
    if (flush) {
      const until = performance.now() + 4000;
      while (client.flushes.find((t) => t > sayAt) === undefined && performance.now() < until) await sleep(5);
      flushAt = client.flushes.find((t) => t > sayAt);
      if (flushAt === undefined) {
        const seen = harness.events.map((e) => (e.event.type === 'false_barge_in' ? `false_barge_in(${e.event.why})` : e.event.type)).join(',');
        throw new Error(`no flush message after the caller talked over the reply; events: ${seen}`);
      }
    } else {
      await harness.event((e) => e.event.type === 'barge_in', 4000);
    }
    await sleep(300);
    const lastReplyAudioAt = client.heard.filter((f) => f.at < onset + 2000 && f.at > replyStart && f.rms > 300).reduce((t, f) => Math.max(t, f.at), 0);
    await harness.event((e) => e.event.type === 'barge_in', 4000);
    client.sendDtmf('5');
    await harness.event((e) => e.event.type === 'dtmf', 4000);
    await interruption;
    // Pacing of the reply up to the interruption.
    const gapsMs: number[] = [];
    let maxLeadMs = 0;
    let received = 0;
    for (let i = 0; i < steady.length; i++) {
      const f = steady[i] as { at: number; ms: number };
      if (f.at > sayAt) break;
      received += f.ms;
      maxLeadMs = Math.max(maxLeadMs, received - (f.at - firstAt));
      const prev = steady[i - 1];
      if (prev !== undefined) gapsMs.push(((f.at - prev.at) * 20) / f.ms);
    }
    line.stop();
    await client.hangup();
    await harness.event((e) => e.event.type === 'ended', 5000);
    return { askedAt, replyStart, onset, flushAt, lastReplyAudioAt, gapsMs, maxLeadMs };
  } finally {
    line.stop();
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}


/** The models a scenario file loads once (Silero VAD, flite). */
export interface ScenarioModels {
  readonly vad: SileroVad;
  readonly tts: FliteTts;
  close(): Promise<void>;
}

export async function loadScenarioModels(): Promise<ScenarioModels> {
  const vad = await SileroVad.load({ version: 'v5' });
  const tts = new FliteTts({ voice: 'kal16' });
  return {
    vad,
    tts,
    async close() {
      await vad.close();
      await tts.close();
    },
  };
}

/** The scenario's agent: a scripted model (the long reply, then a short one), the energy STT, flite. */
export function scenarioAgent(models: ScenarioModels): { agent: AgentRuntime; llm: ScriptedLlm; stt: EnergyStt } {
  const llm = new ScriptedLlm({ turns: [LONG_REPLY, 'Okay, I will cancel it.'], fallback: 'Okay.' });
  const stt = new EnergyStt({ transcripts: ['when will my package arrive', 'i want to cancel my subscription'], encodings: ['pcm_s16le', 'mulaw'] });
  return { agent: testAgent({ llm, stt: [stt], tts: [models.tts], spec: { turn: { fillers: [] } } }), llm, stt };
}
