/**
 * Records a call as stereo (caller left, agent right) on one real-time axis, around any medium's leg.
 *
 * - Caller audio is what the medium hands the call (`onFrame`), laid where it arrived; frames that follow on
 *   within a few ms are laid end to end, so arrival jitter adds no clicks.
 * - Agent audio is taken from `write`/`writeEncoded`/`sendFrame` into a queue and laid on the track only as the
 *   medium reports it played (`outputPosition().playedMs`), at the moment it played. On `clearOutput` (barge-in)
 *   what was queued and not played is dropped here too, so the file has exactly what the caller heard.
 * - Every `flushMs` the audio up to a moment ago goes to the sink, which writes it and patches the WAV header:
 *   a crash loses at most about one flush interval. The file is closed when the leg ends (`finished`).
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import { alawDecode, mulawDecode } from '../../media/g711.ts';
import { Resampler } from '../../media/resample/index.ts';
import type { CallLeg, LegEncoding } from '../call-leg.ts';
import { LegDecorator } from './leg-decorator.ts';
import { StereoTimeline } from './stereo-timeline.ts';
import type { RecordingSink } from './wav-stream-writer.ts';

export interface RecordingLegOptions {
  readonly sink: RecordingSink;
  /** Rate of the file (both tracks). */
  readonly sampleRate: number;
  readonly clock?: Clock;
  /** How often audio is written out (default 500 ms). */
  readonly flushMs?: number;
  readonly logger?: Logger;
}

/** Caller frames this close to the previous one's end continue it (arrival jitter, not a gap). */
const CONTIGUOUS_MS = 80;
/** Audio newer than this is not written yet: a caller frame may still land just before "now". */
const HOLDBACK_MS = 150;
/** Agent playout is read at most this often from the media path. */
const ACCOUNT_EVERY_MS = 20;

export class RecordingLeg extends LegDecorator {
  /** Resolves once the file is complete and closed (the leg ended, or `close()`). */
  readonly finished: Promise<void>;
  readonly #o: RecordingLegOptions;
  readonly #clock: Clock;
  readonly #rate: number;
  readonly #tl: StereoTimeline;
  readonly #offFrame: Unsubscribe;
  readonly #agent = new PcmQueue();
  readonly #agentRs = new Map<number, Resampler>();
  #callerRs: Resampler | undefined;
  #callerNext: number | undefined;
  #agentNext = 0;
  /** Sample where agent audio written into an idle output started to play. */
  #spurtAt: number | undefined;
  #lastPlayedMs: number;
  #lastAccount = -Infinity;
  #clears = 0;
  #timer: TimerHandle | undefined;
  #done = false;
  #resolveFinished: () => void = () => undefined;

  constructor(inner: CallLeg, options: RecordingLegOptions) {
    super(inner);
    this.#o = options;
    this.#clock = options.clock ?? systemClock();
    this.#rate = options.sampleRate;
    this.#tl = new StereoTimeline(this.#rate, this.#clock.now());
    this.#lastPlayedMs = inner.outputPosition().playedMs;
    this.finished = new Promise((resolve) => (this.#resolveFinished = resolve));
    this.#offFrame = inner.onFrame((f) => this.#onCaller(f));
    this.#schedule();
    void inner.ended.then(
      () => this.close(),
      () => this.close(),
    );
  }

  /** Length of the recording so far, ms. */
  get recordedMs(): number {
    return (this.#tl.taken * 1000) / this.#rate;
  }

  override sendFrame(frame: AudioFrame): boolean {
    const now = this.#clock.now();
    const idle = this.#idle();
    const ok = this.inner.sendFrame(frame);
    if (ok) this.#queueAgent(this.#agentPcm(frame.samples, frame.sampleRate), idle, now);
    return ok;
  }

  override async write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    await this.#tracked(this.#agentPcm(frame.samples, frame.sampleRate), (frame.samples.length * 1000) / frame.sampleRate, () => this.inner.write(frame, signal));
  }

  override async writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    const pcm8k = encoding === 'mulaw' ? mulawDecode(bytes) : encoding === 'alaw' ? alawDecode(bytes) : new Int16Array(0);
    await this.#tracked(this.#agentPcm(pcm8k, 8000), bytes.length / 8, () => this.inner.writeEncoded(bytes, encoding, signal));
  }

  override pauseOutput(paused: boolean): void {
    this.#account(this.#clock.now());
    this.inner.pauseOutput(paused);
  }

  override clearOutput(): { readonly droppedMs: number } {
    // What played until now stays; what was queued and never played was never heard.
    this.#account(this.#clock.now());
    this.#agent.clear();
    this.#spurtAt = undefined;
    this.#clears++;
    return this.inner.clearOutput();
  }

  /** Write out everything recorded and close the file (the leg ending does this by itself). Idempotent. */
  close(): Promise<void> {
    if (this.#done) return this.finished;
    this.#done = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#offFrame();
    const now = this.#clock.now();
    this.#account(now);
    // What the agent queued beyond what played was never heard: it is not part of the recording.
    this.#o.sink.append(this.#tl.takeAll(this.#tl.index(now)));
    for (const r of this.#agentRs.values()) r.close();
    this.#agentRs.clear();
    this.#callerRs?.close();
    this.#o.sink.close().then(
      () => this.#resolveFinished(),
      (err: unknown) => {
        this.#o.logger?.warn({ err: errorMessage(err) }, 'recording could not be closed');
        this.#resolveFinished();
      },
    );
    return this.finished;
  }

  async #tracked(pcm: Int16Array, durationMs: number, send: () => Promise<void>): Promise<void> {
    const now = this.#clock.now();
    const idle = this.#idle();
    const before = this.inner.outputPosition().writtenMs;
    const clears = this.#clears;
    this.#queueAgent(pcm, idle, now);
    let accepted = false;
    try {
      await send();
      accepted = this.inner.outputPosition().writtenMs - before >= durationMs / 2;
    } finally {
      // A leg that cannot send (ended, on hold) drops the audio: it will never play.
      if (!accepted && clears === this.#clears) this.#agent.dropTail(pcm);
    }
  }

  #idle(): boolean {
    const p = this.inner.outputPosition();
    return p.writtenMs - p.playedMs < 1 && this.#agent.length === 0;
  }

  #queueAgent(pcm: Int16Array, idle: boolean, now: number): void {
    if (this.#done || pcm.length === 0) return;
    if (idle) this.#spurtAt ??= this.#tl.index(now);
    this.#agent.push(pcm);
  }

  #onCaller(frame: AudioFrame): void {
    if (this.#done) return;
    const now = this.#clock.now();
    if (this.#callerRs === undefined || this.#callerRs.fromRate !== frame.sampleRate) {
      this.#callerRs?.close();
      this.#callerRs = new Resampler(frame.sampleRate, this.#rate);
    }
    const pcm = this.#callerRs.process(frame.samples).slice();
    const nowIdx = this.#tl.index(now);
    let start = nowIdx - pcm.length;
    const next = this.#callerNext;
    const tolerance = (CONTIGUOUS_MS * this.#rate) / 1000;
    if (next !== undefined && start - next < tolerance && next - nowIdx < tolerance) start = next;
    this.#tl.placeAt(0, start, pcm);
    this.#callerNext = start + pcm.length;
    if (now - this.#lastAccount >= ACCOUNT_EVERY_MS) this.#account(now);
  }

  /** Lay the agent audio the medium played since the last look where it played. */
  #account(now: number): void {
    this.#lastAccount = now;
    const played = this.inner.outputPosition().playedMs;
    const from = this.#lastPlayedMs;
    if (played <= from) {
      if (played < from) this.#lastPlayedMs = played;
      return;
    }
    this.#lastPlayedMs = played;
    const want = Math.round((played * this.#rate) / 1000) - Math.round((from * this.#rate) / 1000);
    const pcm = this.#agent.take(want);
    if (pcm.length === 0) return;
    const candidate = this.#spurtAt ?? this.#tl.index(now) - pcm.length;
    this.#spurtAt = undefined;
    const start = Math.max(this.#agentNext, candidate);
    this.#tl.placeAt(1, start, pcm);
    this.#agentNext = start + pcm.length;
  }

  #agentPcm(samples: Int16Array, rate: number): Int16Array {
    if (this.#done || samples.length === 0) return new Int16Array(0);
    let rs = this.#agentRs.get(rate);
    if (rs === undefined) {
      rs = new Resampler(rate, this.#rate);
      this.#agentRs.set(rate, rs);
    }
    return rs.process(samples).slice();
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (this.#done) return;
      const now = this.#clock.now();
      this.#account(now);
      this.#o.sink.append(this.#tl.takeUntil(this.#tl.index(now - HOLDBACK_MS)));
      void this.#o.sink.flush();
      this.#schedule();
    }, this.#o.flushMs ?? 500);
  }
}

/** Agent audio written and not yet played, as chunks taken from the front. */
class PcmQueue {
  #chunks: Int16Array[] = [];
  #offset = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(pcm: Int16Array): void {
    this.#chunks.push(pcm);
    this.#length += pcm.length;
  }

  /** Remove `pcm` when it is the last chunk pushed. */
  dropTail(pcm: Int16Array): void {
    if (this.#chunks.at(-1) !== pcm) return;
    this.#chunks.pop();
    this.#length -= pcm.length - (this.#chunks.length === 0 ? this.#offset : 0);
    if (this.#chunks.length === 0) {
      this.#offset = 0;
      this.#length = 0;
    }
  }

  take(n: number): Int16Array {
    const count = Math.min(n, this.#length);
    const out = new Int16Array(count);
    let at = 0;
    while (at < count) {
      const head = this.#chunks[0] as Int16Array;
      const k = Math.min(count - at, head.length - this.#offset);
      out.set(head.subarray(this.#offset, this.#offset + k), at);
      at += k;
      this.#offset += k;
      if (this.#offset === head.length) {
        this.#chunks.shift();
        this.#offset = 0;
      }
    }
    this.#length -= count;
    return out;
  }

  clear(): void {
    this.#chunks = [];
    this.#offset = 0;
    this.#length = 0;
  }
}
