/**
 * A stand-in for `sherpa-onnx-node` with the same JS surface, so the adapters' streaming logic
 * runs without a model: the recogniser "hears" `words` at one word per `wordSec` of audio (any
 * input rate), reports an endpoint after 0.5 s of trailing audio, and the TTS speaks a tone
 * (440 Hz unless `ttsToneHz`), 20 ms per character, in chunks through the progress callback.
 */
import type {
  SherpaModule,
  SherpaOfflineTts,
  SherpaOnlineRecognizer,
  SherpaOnlineResult,
  SherpaOnlineStream,
  SherpaTtsProgress,
  SherpaWaveform,
} from '../../../../src/providers/sherpa/sherpa-module.ts';

export interface FakeSherpaOptions {
  readonly words?: readonly string[];
  readonly wordSec?: number;
  /** decode() throws once this much audio was decoded. */
  readonly failAfterSec?: number;
  /** The OnlineRecognizer / OfflineTts constructor throws (a corrupt model file). */
  readonly failLoad?: boolean;
  /**
   * Only non-zero audio is speech: words are heard over loud audio alone (so the session's silent
   * tail padding and silent input add no words). Default false: any audio is heard as words.
   */
  readonly loudOnly?: boolean;
  readonly ttsRate?: number;
  readonly ttsToneHz?: number;
}

class FakeStream implements SherpaOnlineStream {
  sec = 0;
  processed = 0;
  base = 0;
  consumed = 0;
  finished = false;
  readonly rates = new Set<number>();
  /** Stream-time spans of audio with a non-zero sample. */
  readonly loud: Array<{ from: number; to: number }> = [];
  acceptWaveform(w: SherpaWaveform): void {
    if (this.finished) throw new Error('input finished');
    this.rates.add(w.sampleRate);
    const dur = w.samples.length / w.sampleRate;
    if (w.samples.some((x) => x !== 0)) this.loud.push({ from: this.sec, to: this.sec + dur });
    this.sec += dur;
  }
  /** Seconds of loud audio between stream times a and b. */
  loudBetween(a: number, b: number): number {
    let t = 0;
    for (const s of this.loud) t += Math.max(0, Math.min(b, s.to) - Math.max(a, s.from));
    return t;
  }
  inputFinished(): void {
    this.finished = true;
  }
}

export class FakeRecognizer implements SherpaOnlineRecognizer {
  readonly config: Record<string, unknown>;
  readonly streams: FakeStream[] = [];
  readonly #o: FakeSherpaOptions;
  constructor(config: object, o: FakeSherpaOptions) {
    if (o.failLoad === true) throw new Error('Please check your config!');
    this.config = config as Record<string, unknown>;
    this.#o = o;
  }
  get #words(): readonly string[] {
    return this.#o.words ?? ['HELLO', 'WORLD'];
  }
  get #wordSec(): number {
    return this.#o.wordSec ?? 0.2;
  }
  createStream(): SherpaOnlineStream {
    const s = new FakeStream();
    this.streams.push(s);
    return s;
  }
  isReady(s: SherpaOnlineStream): boolean {
    const f = s as FakeStream;
    return f.sec - f.processed >= 0.1 || (f.finished && f.sec > f.processed);
  }
  decode(s: SherpaOnlineStream): void {
    const f = s as FakeStream;
    f.processed = Math.min(f.sec, f.processed + 0.1);
    if (this.#o.failAfterSec !== undefined && f.processed >= this.#o.failAfterSec) throw new Error('onnxruntime: bad tensor');
  }
  #heard(f: FakeStream): string[] {
    const remaining = this.#words.slice(f.consumed);
    const heardSec = this.#o.loudOnly === true ? f.loudBetween(f.base, f.processed) : f.processed - f.base;
    return remaining.slice(0, Math.floor((heardSec + 1e-9) / this.#wordSec));
  }
  isEndpoint(s: SherpaOnlineStream): boolean {
    const f = s as FakeStream;
    const heard = this.#heard(f);
    return heard.length > 0 && f.consumed + heard.length === this.#words.length && f.processed - f.base >= heard.length * this.#wordSec + 0.5;
  }
  reset(s: SherpaOnlineStream): void {
    const f = s as FakeStream;
    f.consumed += this.#heard(f).length;
    f.base = f.processed;
  }
  getResult(s: SherpaOnlineStream): SherpaOnlineResult {
    const f = s as FakeStream;
    const heard = this.#heard(f);
    const tokens: string[] = [];
    const timestamps: number[] = [];
    heard.forEach((w, i) => {
      const half = Math.ceil(w.length / 2);
      tokens.push(`▁${w.slice(0, half)}`, w.slice(half));
      timestamps.push(i * this.#wordSec, i * this.#wordSec + this.#wordSec / 2);
    });
    return { text: heard.join(' '), tokens, timestamps, start_time: f.base, segment: 0, is_final: false };
  }
}

class FakeTts implements SherpaOfflineTts {
  readonly sampleRate: number;
  readonly numSpeakers = 1;
  readonly texts: string[] = [];
  readonly #toneHz: number;
  constructor(rate: number, toneHz: number) {
    this.sampleRate = rate;
    this.#toneHz = toneHz;
  }
  async generateAsync(req: { text: string; sid: number; speed: number; onProgress?: (p: SherpaTtsProgress) => number | boolean | void }): Promise<SherpaWaveform> {
    this.texts.push(req.text);
    const n = Math.round((this.sampleRate * req.text.length * 20) / 1000);
    const all = new Float32Array(n);
    for (let i = 0; i < n; i++) all[i] = 0.25 * Math.sin((2 * Math.PI * this.#toneHz * i) / this.sampleRate);
    const parts = 4;
    for (let p = 0; p < parts; p++) {
      await new Promise((r) => setTimeout(r, 3));
      const piece = all.slice(Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts));
      const ret = req.onProgress?.({ samples: piece, progress: (p + 1) / parts });
      if (ret === 0 || ret === false) break;
    }
    return { samples: all, sampleRate: this.sampleRate };
  }
}

/** A module plus handles on what the adapters created. */
export function fakeSherpa(o: FakeSherpaOptions = {}): { module: SherpaModule; recognizers: FakeRecognizer[]; ttsConfigs: object[]; tts: FakeTts[] } {
  const recognizers: FakeRecognizer[] = [];
  const ttsConfigs: object[] = [];
  const tts: FakeTts[] = [];
  const module: SherpaModule = {
    OnlineRecognizer: class {
      constructor(config: object) {
        const r = new FakeRecognizer(config, o);
        recognizers.push(r);
        return r;
      }
    } as unknown as SherpaModule['OnlineRecognizer'],
    OfflineTts: {
      async createAsync(config: object): Promise<SherpaOfflineTts> {
        if (o.failLoad === true) throw new Error('Please check your config!');
        ttsConfigs.push(config);
        const t = new FakeTts(o.ttsRate ?? 22050, o.ttsToneHz ?? 440);
        tts.push(t);
        return t;
      },
    },
  };
  return { module, recognizers, ttsConfigs, tts };
}
