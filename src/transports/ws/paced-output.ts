import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Clock } from '../../core/clock.ts';
import { createResampler, type Resampler } from '../../media/resample/index.ts';
import type { Pacer, PacerClient, PacerRegistration } from '../../media/rtp/pacer.ts';

export interface PacedOutputOptions {
  /** The client's `outputSampleRate`. */
  readonly sampleRate: number;
  /** Audio queued and not yet sent, at most (`websocket.outboundBufferMs`). */
  readonly bufferMs: number;
  /** How far ahead of real time audio may be sent (`websocket.outboundLeadMs`). */
  readonly leadMs: number;
  /** The pacer's clock is used for all timing. */
  readonly pacer: Pacer;
  /**
   * Hand one frame (s16le bytes) to the socket; false when it cannot take it now (the client reads slowly):
   * the frame stays queued and is retried on the next slot.
   */
  readonly transmit: (frame: Buffer) => boolean;
  /** Frame length, ms (default 20). */
  readonly frameMs?: number;
}

interface Waiter {
  readonly resolve: () => void;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Outbound audio of one WebSocket call, sent at real-time pace: PCM at any rate is resampled to the
 * client's rate, cut into frames, held in a bounded queue, and released on the shared pacer's slots so
 * that the audio sent during a talk spurt never runs more than `leadMs` ahead of the time since the spurt
 * started. The lead is the client's playback cushion; everything beyond it waits here, where barge-in can
 * still drop it.
 *
 * Positions: a frame counts as played when its real-time slot has passed, not when it was sent early
 * (`playedMs` is what the caller heard, give or take the client's own buffer); `clear` drops the queue and
 * the sent-but-unplayed lead, which the client drops on `playback_clear_buffer`.
 */
export class PacedOutput implements PacerClient {
  readonly sampleRate: number;
  readonly #frameMs: number;
  readonly #frameSamples: number;
  readonly #capacity: number;
  readonly #leadMs: number;
  readonly #clock: Clock;
  readonly #pacer: Pacer;
  readonly #transmit: (frame: Buffer) => boolean;
  #reg: PacerRegistration | null = null;
  #stopped = false;
  #paused = false;
  #resampler: Resampler | null = null;
  /** Queue of frames not yet sent (a ring would save little: at most bufferMs / frameMs entries). */
  #queue: Buffer[] = [];
  #head = 0;
  #partial: Int16Array;
  #partialLen = 0;
  #acceptedSamples = 0;
  #droppedMs = 0;
  #playedBaseMs = 0;
  /** The current talk spurt: when its first frame went out, and how much of it has been sent. */
  #spurtActive = false;
  #spurtStart = 0;
  #spurtSentMs = 0;
  /**
   * The frames of the current spurt that went out and may not have played yet (their slot has not passed),
   * oldest first, with where each starts in the spurt (ms): what `rewind` can take back. At most the lead.
   */
  #ahead: Buffer[] = [];
  #aheadAt: number[] = [];
  /** Audio has gone out since the last clear (the client may hold some). */
  #sentSinceClear = false;
  #framesSent = 0;
  #writers: Waiter[] = [];
  #drainers: Waiter[] = [];

  constructor(options: PacedOutputOptions) {
    this.sampleRate = options.sampleRate;
    const frameMs = options.frameMs ?? 20;
    this.#frameMs = frameMs;
    this.#frameSamples = Math.round((options.sampleRate * frameMs) / 1000);
    this.#capacity = Math.max(1, Math.ceil(options.bufferMs / frameMs));
    this.#leadMs = options.leadMs;
    this.#pacer = options.pacer;
    this.#clock = options.pacer.clock;
    this.#transmit = options.transmit;
    this.#partial = new Int16Array(this.#frameSamples);
  }

  /** Start pacing (the call was answered). */
  start(): void {
    if (this.#reg !== null || this.#stopped) return;
    this.#reg = this.#pacer.register(this, this.#frameMs);
  }

  /** Stop for good (the call ended): queued audio is discarded, waiting writers and drainers resolve. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reg?.close();
    this.#reg = null;
    this.#resampler?.close();
    this.#resampler = null;
    this.#queue = [];
    this.#head = 0;
    this.#partialLen = 0;
    this.#ahead = [];
    this.#aheadAt = [];
    this.#wake(this.#writers);
    this.#wake(this.#drainers);
  }

  get size(): number {
    return this.#queue.length - this.#head;
  }

  get framesSent(): number {
    return this.#framesSent;
  }

  /** Queue without waiting (a real-time source): false when the queue is full (the rest is dropped) or stopped. */
  sendFrame(frame: AudioFrame): boolean {
    if (this.#stopped || this.#reg === null) return false;
    const pcm = this.#toOutputRate(frame);
    let ok = true;
    let offset = 0;
    while (offset < pcm.length) {
      if (this.#partialLen === this.#frameSamples) {
        if (this.size >= this.#capacity) this.#pump(this.#clock.now());
        if (this.size >= this.#capacity) {
          ok = false;
          break;
        }
        this.#pushPartial();
      }
      offset += this.#fill(pcm, offset);
    }
    if (this.#partialLen === this.#frameSamples && this.size < this.#capacity) this.#pushPartial();
    this.#acceptedSamples += offset;
    this.#pump(this.#clock.now());
    return ok;
  }

  /** Queue, waiting while the queue is full; resolves at once (dropping) when stopped or aborted. */
  async write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    if (this.#stopped || this.#reg === null || signal?.aborted === true) return;
    const pcm = this.#toOutputRate(frame).slice();
    let offset = 0;
    while (offset < pcm.length) {
      if (this.#partialLen === this.#frameSamples) {
        if (this.size >= this.#capacity) this.#pump(this.#clock.now());
        while (this.size >= this.#capacity) {
          if (!(await this.#room(signal))) return;
        }
        this.#pushPartial();
      }
      const n = this.#fill(pcm, offset);
      offset += n;
      this.#acceptedSamples += n;
    }
    if (this.#partialLen === this.#frameSamples && this.size < this.#capacity) this.#pushPartial();
    this.#pump(this.#clock.now());
  }

  /** Send the partial frame and resolve once everything queued has played (or on stop/abort). */
  async drained(signal?: AbortSignal): Promise<void> {
    if (this.#stopped || signal?.aborted === true) return;
    if (this.#partialLen > 0) {
      while (this.size >= this.#capacity) {
        if (!(await this.#room(signal))) return;
      }
      if (this.#partialLen > 0) this.#pushPartial();
      this.#pump(this.#clock.now());
    }
    if (this.#idle()) return;
    await new Promise<void>((resolve) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#drainers = this.#drainers.filter((w) => w !== waiter);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#drainers.push(waiter);
    });
  }

  /**
   * Hold queued audio (true) or play on (false). What was already sent ahead plays out at the client (at
   * most the lead); the queue waits here, and the next spurt starts on resume.
   */
  pause(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    if (!paused) this.#pump(this.#clock.now());
  }

  /**
   * Take back what was sent ahead of real time and has not played yet (the frame playing now included):
   * it goes back to the head of the queue, to be sent again when the output resumes, and the spurt ends at
   * what has played. For a caller who may be starting to talk over the agent: the client is told to drop
   * what it holds (so the agent stops at once, not a lead later), and if it was only a cough nothing is
   * lost. Returns the audio taken back, ms (0: the client holds nothing of ours to drop).
   */
  rewind(): number {
    if (this.#stopped || !this.#spurtActive) return 0;
    const elapsed = this.#clock.now() - this.#spurtStart;
    let first = 0;
    while (first < this.#ahead.length && (this.#aheadAt[first] as number) + this.#ms(this.#ahead[first] as Buffer) <= elapsed) first++;
    const back = this.#ahead.slice(first);
    if (back.length === 0) return 0;
    const from = this.#aheadAt[first] as number;
    const ms = this.#spurtSentMs - from;
    this.#queue.splice(this.#head, 0, ...back);
    this.#ahead = [];
    this.#aheadAt = [];
    // The spurt now ends at what has played (it has, or is just finishing): a resume starts a new one.
    this.#playedBaseMs += from;
    this.#spurtActive = false;
    this.#spurtSentMs = 0;
    return ms;
  }

  /**
   * Barge-in: drop the queue, the partial frame and the part of the spurt sent ahead of real time.
   * `clientHadAudio`: something went out since the last clear (the client must be told to drop its buffer).
   */
  clear(): { droppedMs: number; clientHadAudio: boolean } {
    const now = this.#clock.now();
    let dropped = (this.#partialLen * 1000) / this.sampleRate;
    for (let i = this.#head; i < this.#queue.length; i++) dropped += this.#ms(this.#queue[i] as Buffer);
    if (this.#spurtActive) {
      const played = Math.min(this.#spurtSentMs, Math.max(0, now - this.#spurtStart));
      dropped += this.#spurtSentMs - played;
      this.#playedBaseMs += played;
      this.#spurtActive = false;
      this.#spurtSentMs = 0;
    }
    this.#queue = [];
    this.#head = 0;
    this.#partialLen = 0;
    this.#ahead = [];
    this.#aheadAt = [];
    this.#droppedMs += dropped;
    const clientHadAudio = this.#sentSinceClear;
    this.#sentSinceClear = false;
    this.#wake(this.#writers);
    this.#wake(this.#drainers);
    return { droppedMs: dropped, clientHadAudio };
  }

  /** Audio accepted (minus drops) and audio whose real-time slot has passed, ms since the call started. */
  position(): { writtenMs: number; playedMs: number } {
    const writtenMs = (this.#acceptedSamples * 1000) / this.sampleRate - this.#droppedMs;
    let playedMs = this.#playedBaseMs;
    if (this.#spurtActive) playedMs += Math.min(this.#spurtSentMs, Math.max(0, this.#clock.now() - this.#spurtStart));
    return { writtenMs, playedMs: Math.min(playedMs, writtenMs) };
  }

  /** Pacer slot. */
  onPace(_slot: number, _dueMs: number, nowMs: number): void {
    this.#pump(nowMs);
  }

  /** Send what the lead allows at `now`, and close the spurt once everything sent has played. */
  #pump(now: number): void {
    if (this.#stopped) return;
    // A full frame waiting for room (the end of a write, or sendFrame) joins the queue as soon as it fits.
    if (this.#partialLen === this.#frameSamples && this.size < this.#capacity) this.#pushPartial();
    if (!this.#spurtActive && this.size > 0 && !this.#paused) {
      this.#spurtActive = true;
      this.#spurtStart = this.#origin(now);
      this.#spurtSentMs = 0;
    }
    if (!this.#spurtActive) return;
    // Negative elapsed time (before the origin) is fine: the first frame always goes.
    const allowed = now - this.#spurtStart + this.#leadMs;
    let sent = false;
    while (this.size > 0 && !this.#paused) {
      const frame = this.#queue[this.#head] as Buffer;
      const ms = this.#ms(frame);
      // The first frame of a spurt always goes: a lead shorter than one frame would otherwise stall it.
      if (this.#spurtSentMs > 0 && this.#spurtSentMs + ms > allowed) break;
      if (!this.#transmit(frame)) break;
      this.#queue[this.#head] = EMPTY;
      this.#head++;
      this.#ahead.push(frame);
      this.#aheadAt.push(this.#spurtSentMs);
      this.#spurtSentMs += ms;
      this.#framesSent++;
      sent = true;
      if (this.#partialLen === this.#frameSamples) this.#pushPartial();
    }
    if (sent) {
      this.#sentSinceClear = true;
      this.#compact();
      this.#wake(this.#writers);
    }
    // Frames whose slot has passed have played: they cannot be taken back.
    let played = 0;
    while (played < this.#ahead.length && (this.#aheadAt[played] as number) + this.#ms(this.#ahead[played] as Buffer) <= now - this.#spurtStart) played++;
    if (played > 0) {
      this.#ahead.splice(0, played);
      this.#aheadAt.splice(0, played);
    }
    // A spurt ends once all it sent has played: nothing left, or held (so a resume starts afresh, never in a burst).
    if ((this.size === 0 || this.#paused) && this.#spurtSentMs <= now - this.#spurtStart) {
      this.#playedBaseMs += this.#spurtSentMs;
      this.#spurtActive = false;
      this.#spurtSentMs = 0;
      this.#ahead = [];
      this.#aheadAt = [];
      if (this.size === 0 && this.#partialLen === 0) this.#wake(this.#drainers);
    }
  }

  /**
   * Where a spurt starting at `now` counts its real time from: the first instant at or after `now` that lies
   * half a period between two pacer slots. Every send decision's boundary then falls between slots, so a
   * slot that fires a millisecond early or late never sends two frames or none (a steady one frame per
   * slot), and since the origin is never before `now`, the audio sent stays within the lead of real time.
   */
  #origin(now: number): number {
    const reg = this.#reg;
    if (reg === null) return now;
    const period = reg.periodMs;
    const phase = reg.startMs + period / 2;
    const offset = (((now - phase) % period) + period) % period;
    return offset === 0 ? now : now + period - offset;
  }

  #idle(): boolean {
    return this.size === 0 && this.#partialLen === 0 && !this.#spurtActive;
  }

  #room(signal: AbortSignal | undefined): Promise<boolean> {
    if (this.#stopped || signal?.aborted === true) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(!this.#stopped && signal?.aborted !== true);
        },
      };
      const onAbort = (): void => {
        this.#writers = this.#writers.filter((w) => w !== waiter);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#writers.push(waiter);
    });
  }

  #wake(list: Waiter[]): void {
    for (const w of list.splice(0)) w.resolve();
  }

  #fill(pcm: Int16Array, offset: number): number {
    const n = Math.min(this.#frameSamples - this.#partialLen, pcm.length - offset);
    this.#partial.set(pcm.subarray(offset, offset + n), this.#partialLen);
    this.#partialLen += n;
    return n;
  }

  #pushPartial(): void {
    const samples = this.#partial.slice(0, this.#partialLen);
    if (!LITTLE_ENDIAN) swapBytes(samples);
    this.#queue.push(Buffer.from(samples.buffer, 0, samples.byteLength));
    this.#partialLen = 0;
  }

  #ms(frame: Buffer): number {
    return (frame.byteLength * 500) / this.sampleRate;
  }

  #compact(): void {
    if (this.#head > 32 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #toOutputRate(frame: AudioFrame): Int16Array {
    if (frame.sampleRate === this.sampleRate) return frame.samples;
    if (this.#resampler === null || this.#resampler.fromRate !== frame.sampleRate) {
      this.#resampler?.close();
      this.#resampler = createResampler(frame.sampleRate, this.sampleRate);
    }
    return this.#resampler.process(frame.samples);
  }
}

const EMPTY = Buffer.alloc(0);

function swapBytes(samples: Int16Array): void {
  const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
  for (let i = 0; i < bytes.length; i += 2) {
    const t = bytes[i] as number;
    bytes[i] = bytes[i + 1] as number;
    bytes[i + 1] = t;
  }
}
