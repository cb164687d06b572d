/** Scripted in-memory providers for the wrapper tests. */
import { BoundedChannel } from '../../../../src/core/bounded-channel.ts';
import type { AudioFrame } from '../../../../src/core/audio-frame.ts';
import type {
  AudioEncoding,
  LlmEvent,
  LlmProvider,
  SttEvent,
  SttProvider,
  SttSession,
  SttSessionOptions,
  TtsChunk,
  TtsProvider,
  TtsRequest,
} from '../../../../src/providers/types.ts';

export class ScriptedSession implements SttSession {
  readonly channel = new BoundedChannel<SttEvent>(64, 'drop-oldest');
  written = 0;
  closed = 0;
  write(_f: AudioFrame): void {
    this.written++;
  }
  writeEncoded(_b: Uint8Array): void {
    this.written++;
  }
  keepAlive(): void {}
  finalize(): void {}
  events(): AsyncIterable<SttEvent> {
    return this.channel;
  }
  async close(): Promise<void> {
    this.closed++;
    if (!this.channel.closed) {
      this.channel.push({ type: 'closed' });
      this.channel.close();
    }
  }
}

/** Each open() takes the next answer: an Error to throw, 'hang' to never settle, or a session. */
export class ScriptedStt implements SttProvider {
  readonly name: string;
  readonly encodings: readonly AudioEncoding[];
  readonly rates: readonly number[];
  readonly answers: Array<Error | 'hang' | 'ok'>;
  readonly sessions: ScriptedSession[] = [];
  opens = 0;
  constructor(name: string, answers: Array<Error | 'hang' | 'ok'>, rates: readonly number[] = [8000, 16000], encodings: readonly AudioEncoding[] = ['pcm_s16le']) {
    this.name = name;
    this.answers = answers;
    this.rates = rates;
    this.encodings = encodings;
  }
  supportsSampleRate(rate: number): boolean {
    return this.rates.includes(rate);
  }
  async open(_o: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    const a = this.answers[this.opens++] ?? 'ok';
    if (a instanceof Error) throw a;
    if (a === 'hang') return new Promise<never>(() => undefined);
    const s = new ScriptedSession();
    signal?.addEventListener('abort', () => void s.close(), { once: true });
    this.sessions.push(s);
    return s;
  }
}

/** Each synthesize() follows the next plan: fail before any chunk, after `n` chunks, hang, or succeed. */
export type TtsPlan = { fail?: Error; after?: number; hang?: boolean; ignoreAbort?: boolean };

export class ScriptedTts implements TtsProvider {
  readonly name: string;
  readonly encodings: readonly AudioEncoding[] = ['pcm_s16le'];
  readonly sampleRates: readonly number[];
  readonly plans: TtsPlan[];
  readonly texts: string[] = [];
  calls = 0;
  constructor(name: string, plans: TtsPlan[], sampleRates: readonly number[] = [16000]) {
    this.name = name;
    this.plans = plans;
    this.sampleRates = sampleRates;
  }
  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    const plan = this.plans[this.calls++] ?? {};
    let text = '';
    for await (const t of request.text) text += t;
    this.texts.push(text);
    if (plan.hang === true) {
      await new Promise<void>((resolve) => {
        if (plan.ignoreAbort !== true) signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      return;
    }
    let n = 0;
    for (const _ of text.split(' ')) {
      if (plan.fail !== undefined && n === (plan.after ?? 0)) throw plan.fail;
      if (signal?.aborted) return;
      n++;
      yield { type: 'audio', encoding: 'pcm_s16le', sampleRate: request.sampleRate, pcm: new Int16Array(160) };
    }
    if (plan.fail !== undefined) throw plan.fail;
    yield { type: 'done' };
  }
}

export class ScriptedLlm implements LlmProvider {
  readonly name: string;
  readonly plans: TtsPlan[];
  calls = 0;
  constructor(name: string, plans: TtsPlan[]) {
    this.name = name;
    this.plans = plans;
  }
  async *stream(): AsyncGenerator<LlmEvent> {
    const plan = this.plans[this.calls++] ?? {};
    for (let n = 0; n < 3; n++) {
      if (plan.fail !== undefined && n === (plan.after ?? 0)) throw plan.fail;
      yield { type: 'text', delta: `${this.name}${n} ` };
    }
    yield { type: 'done', finishReason: 'stop' };
  }
}

export async function* words(text: string): AsyncIterable<string> {
  for (const w of text.split(/(?<= )/)) {
    await Promise.resolve();
    yield w;
  }
}

export async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
