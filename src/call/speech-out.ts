/**
 * The agent's voice: one reply at a time, text chunks -> TTS -> the leg, paced by the leg. Each chunk is
 * synthesized as its own request while the chunk before it plays, so the audio of every chunk is known and
 * a barge-in can say exactly what the caller heard (`heard-text.ts`). A TTS that fails hands the rest of
 * the reply to the next voice (cloud -> offline); a later reply goes back to the preferred voice after a
 * cool-down (30 s), or at once when every voice has failed, so a passing outage never leaves a call mute or
 * on the fallback for good. G.711 goes out as the provider's bytes when both sides speak it. `stop()` drops queued audio at once and reports the heard text.
 */
import { raceAbort } from '../core/abort.ts';
import type { AudioFrame } from '../core/audio-frame.ts';
import type { Clock } from '../core/clock.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { alawDecode, mulawDecode } from '../media/g711.ts';
import type { TextChunkerOptions } from '../providers/text-chunker.ts';
import type { AudioEncoding, TtsChunk, TtsProvider } from '../providers/types.ts';
import type { CallLeg } from './call-leg.ts';
import type { EchoGuard } from './echo-guard.ts';
import { heardLength, type SpokenChunk } from './heard-text.ts';
import { ReplyText } from './reply-text.ts';

export interface SpeechOutOptions {
  readonly leg: CallLeg;
  /** Voices in order of preference: a failing one hands over to the next for the rest of the reply. */
  readonly tts: readonly TtsProvider[];
  readonly voice?: string;
  readonly chunker?: TextChunkerOptions;
  readonly echoGuard: EchoGuard | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A voice failed (and which one takes over, if any). */
  readonly onTtsFailure?: (provider: string, error: string, next: string | undefined) => void;
  /** How long after a failure a new reply tries the preferred voice again (default 30 s). */
  readonly preferredAgainAfterMs?: number;
}

const PREFERRED_AGAIN_AFTER_MS = 30_000;

/** How a reply ended. */
export interface ReplyResult {
  /** The model's text the caller heard: a prefix of `text` (all of it unless interrupted). */
  readonly heard: string;
  readonly text: string;
  readonly interrupted: boolean;
  /** Call-clock time the first audio was written, if any was. */
  readonly firstAudioAtMs: number | undefined;
  readonly playedMs: number;
  /** Queued audio dropped by `stop()`. */
  readonly droppedMs: number;
}

export interface Reply {
  /** Resolves when the reply has played out or was stopped. */
  readonly done: Promise<ReplyResult>;
  /** Call-clock time of the first audio, once there is some. */
  readonly firstAudioAtMs: number | undefined;
  /** Speak a chunk that is not the model's (a filler), after what is already queued. */
  interject(text: string): void;
  /** Release text the chunker holds (a tool call started). */
  flush(): void;
  /** Resolves when everything given so far has played (what `hangUp` and `transferCall` wait for). */
  playedOut(signal?: AbortSignal): Promise<void>;
  /** Stop now: queued audio dropped, synthesis cancelled. Returns what was heard. */
  stop(): ReplyResult;
}

export class SpeechOut {
  readonly #o: SpeechOutOptions;
  #voice = 0;
  /** Call-clock time the voice in use last moved on from a failed one. */
  #failedAt = 0;
  #current: ReplyRun | undefined;
  /** Settles when the last reply started has finished: replies play one after the other, never mixed. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(options: SpeechOutOptions) {
    this.#o = options;
  }

  /** The reply playing now, if any. */
  get current(): Reply | undefined {
    return this.#current;
  }

  /** Play a streamed reply (the model's text). `onFirstAudio` fires once, when its first audio is written. */
  play(text: AsyncIterable<string>, signal: AbortSignal, onFirstAudio?: () => void): Reply {
    this.#backToPreferred();
    const run = new ReplyRun(this, this.#o, signal, onFirstAudio, this.#tail);
    this.#tail = run.done;
    this.#current = run;
    void run.done.then(() => {
      if (this.#current === run) this.#current = undefined;
    });
    void run.text.feed(text, signal);
    return run;
  }

  /** Play a fixed text (greeting, notice, apology). */
  say(text: string, signal: AbortSignal, onFirstAudio?: () => void): Reply {
    return this.play(once(text), signal, onFirstAudio);
  }

  /** @internal The voice to use, and moving on after a failure. */
  voice(): TtsProvider | undefined {
    return this.#o.tts[this.#voice];
  }

  /** @internal */
  nextVoice(failed: TtsProvider, error: string): TtsProvider | undefined {
    if (this.#o.tts[this.#voice] === failed && this.#voice < this.#o.tts.length - 1) this.#voice++;
    else if (this.#o.tts[this.#voice] === failed) this.#voice = this.#o.tts.length;
    this.#failedAt = this.#o.clock.now();
    const next = this.#o.tts[this.#voice];
    this.#o.onTtsFailure?.(failed.name, error, next?.name);
    return next;
  }

  #backToPreferred(): void {
    if (this.#voice === 0) return;
    const exhausted = this.#voice >= this.#o.tts.length;
    if (!exhausted && this.#o.clock.now() - this.#failedAt < (this.#o.preferredAgainAfterMs ?? PREFERRED_AGAIN_AFTER_MS)) return;
    this.#o.logger.info({ provider: this.#o.tts[0]?.name, exhausted }, 'tts back to the preferred voice');
    this.#voice = 0;
  }
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** One reply in progress. */
class ReplyRun implements Reply {
  readonly text: ReplyText;
  readonly done: Promise<ReplyResult>;
  readonly #out: SpeechOut;
  readonly #o: SpeechOutOptions;
  readonly #abort = new AbortController();
  readonly #chunks: SpokenChunk[] = [];
  readonly #onFirstAudio: (() => void) | undefined;
  #baseMs: number | undefined;
  #writtenMs = 0;
  #firstAudioAtMs: number | undefined;
  #result: ReplyResult | undefined;
  #idleWaiters: Array<() => void> = [];
  #busy = true;

  readonly #after: Promise<unknown>;

  constructor(out: SpeechOut, o: SpeechOutOptions, signal: AbortSignal, onFirstAudio: (() => void) | undefined, after: Promise<unknown>) {
    this.#after = after;
    this.#out = out;
    this.#o = o;
    this.#onFirstAudio = onFirstAudio;
    this.text = new ReplyText({ clock: o.clock, ...(o.chunker === undefined ? {} : { chunker: o.chunker }) });
    // The turn's abort (barge-in, a newer turn, the call ending) stops the audio as `stop()` does.
    if (signal.aborted) this.#abort.abort();
    else signal.addEventListener('abort', () => this.stop(), { once: true, signal: this.#abort.signal });
    this.done = this.#run();
  }

  get firstAudioAtMs(): number | undefined {
    return this.#firstAudioAtMs;
  }

  interject(text: string): void {
    this.text.interject(text);
  }

  flush(): void {
    this.text.flush();
  }

  async playedOut(signal?: AbortSignal): Promise<void> {
    while (this.#busy && this.#result === undefined) {
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
      if (signal?.aborted === true) return;
    }
    if (this.#result === undefined) await this.#o.leg.drained(signal);
  }

  stop(): ReplyResult {
    if (this.#result !== undefined) return this.#result;
    this.#abort.abort();
    this.text.end(false);
    const { droppedMs } = this.#o.leg.clearOutput();
    this.#o.echoGuard?.forgetOutbound(this.#o.clock.now());
    return this.#finish(true, droppedMs);
  }

  async #run(): Promise<ReplyResult> {
    const sig = this.#abort.signal;
    // The reply before this one plays out (or is stopped) first.
    await raceAbort(this.#after.catch(() => undefined), sig);
    try {
      for (;;) {
        this.#setBusy(this.text.chunks.size > 0);
        const next = await this.text.chunks.next(sig).catch(() => undefined);
        if (next === undefined || next.done === true || sig.aborted) break;
        this.#setBusy(true);
        await this.#speak(next.value, sig);
      }
      this.#setBusy(false);
      if (!sig.aborted) await this.#o.leg.drained(sig);
    } catch (err) {
      if (!sig.aborted) this.#o.logger.warn({ err: errorMessage(err) }, 'reply playout failed');
    }
    return this.#result ?? this.#finish(false, 0);
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    if (!busy) for (const w of this.#idleWaiters.splice(0)) w();
  }

  /** Synthesize one chunk with the current voice (the next ones after a failure) and write its audio. */
  async #speak(chunk: { text: string; model: boolean; rawStart: number; rawEnd: number }, sig: AbortSignal): Promise<void> {
    const spoken: SpokenChunk = { ...chunk, startMs: this.#writtenMs, endMs: this.#writtenMs, complete: false };
    this.#chunks.push(spoken);
    for (let tts = this.#out.voice(); tts !== undefined && !sig.aborted; ) {
      const before = this.#writtenMs;
      try {
        for await (const part of tts.synthesize({ text: once(chunk.text), ...this.#format(tts), ...(this.#o.voice === undefined ? {} : { voice: this.#o.voice }) }, sig)) {
          if (sig.aborted) return;
          if (part.type === 'audio') await this.#write(part, sig);
          spoken.endMs = this.#writtenMs;
        }
        spoken.complete = !sig.aborted;
        return;
      } catch (err) {
        if (sig.aborted) return;
        const next = this.#out.nextVoice(tts, errorMessage(err));
        this.#o.logger.warn({ provider: tts.name, next: next?.name, err: errorMessage(err) }, 'tts failed');
        // Audio of this chunk already played stays; the next voice says the whole chunk only if none did.
        if (this.#writtenMs > before) return;
        tts = next;
      }
    }
  }

  /** The format to ask a voice for: the leg's G.711 as is when the voice speaks it, else PCM near the leg's rate. */
  #format(tts: TtsProvider): { sampleRate: number; encoding: AudioEncoding } {
    const out = this.#o.leg.outputFormat ?? { sampleRate: 16000, encoding: 'pcm_s16le' as const };
    if (out.encoding !== 'pcm_s16le' && tts.encodings.includes(out.encoding) && tts.sampleRates.includes(8000)) {
      return { sampleRate: 8000, encoding: out.encoding };
    }
    const rates = [...tts.sampleRates].sort((a, b) => a - b);
    const rate = rates.find((r) => r >= out.sampleRate) ?? rates[rates.length - 1] ?? out.sampleRate;
    return { sampleRate: rate, encoding: 'pcm_s16le' };
  }

  async #write(part: Extract<TtsChunk, { type: 'audio' }>, sig: AbortSignal): Promise<void> {
    const leg = this.#o.leg;
    if (this.#baseMs === undefined) this.#baseMs = leg.outputPosition().writtenMs;
    let pcm: Int16Array;
    if (part.encoding === 'pcm_s16le') pcm = part.pcm ?? new Int16Array(0);
    else pcm = part.encoding === 'mulaw' ? mulawDecode(part.bytes ?? new Uint8Array(0)) : alawDecode(part.bytes ?? new Uint8Array(0));
    if (pcm.length === 0) return;
    const pos = leg.outputPosition();
    this.#o.echoGuard?.noteOutbound(pcm, this.#o.clock.now() + (pos.writtenMs - pos.playedMs));
    if (this.#firstAudioAtMs === undefined) {
      this.#firstAudioAtMs = this.#o.clock.now();
      this.#onFirstAudio?.();
    }
    this.#writtenMs += (pcm.length * 1000) / part.sampleRate;
    const outEnc = leg.outputFormat?.encoding;
    if (part.encoding !== 'pcm_s16le' && part.encoding === outEnc && part.bytes !== undefined) {
      await leg.writeEncoded(part.bytes, part.encoding, sig);
    } else {
      const frame: AudioFrame = { samples: pcm, sampleRate: part.sampleRate, timestamp: 0 };
      await leg.write(frame, sig);
    }
  }

  #finish(interrupted: boolean, droppedMs: number): ReplyResult {
    const pos = this.#o.leg.outputPosition();
    const playedMs = this.#baseMs === undefined ? 0 : Math.max(0, Math.min(this.#writtenMs - droppedMs, pos.playedMs - this.#baseMs));
    const raw = this.text.raw;
    const heard = interrupted ? raw.slice(0, heardLength(this.#chunks, playedMs)) : raw;
    this.#result = { heard, text: raw, interrupted, firstAudioAtMs: this.#firstAudioAtMs, playedMs: interrupted ? playedMs : this.#writtenMs, droppedMs };
    for (const w of this.#idleWaiters.splice(0)) w();
    return this.#result;
  }
}
