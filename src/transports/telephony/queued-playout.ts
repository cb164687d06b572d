import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import { PacedOutput } from '../ws/paced-output.ts';

/** Playout acknowledgements, for a platform that queues what it is sent and reports when a mark has played. */
export interface MarkOptions {
  /** Send a mark named `name` after the audio sent so far (Twilio `mark`, jambonz `mark`, `MARK_MEDIA`, Vonage `notify`). */
  readonly send: (name: string) => void;
  /** A mark after at most this much audio (ms), so the played position moves in steps of this size. */
  readonly everyMs: number;
  /**
   * A mark not acknowledged this long after its audio should have finished playing counts as played (a
   * platform that lost it, or never echoes): the call goes on, and the count is in the stats.
   */
  readonly timeoutMs: number;
  /** Marks outstanding at most (jambonz keeps 30); beyond it the next mark waits. */
  readonly maxPending: number;
}

export interface QueuedPlayoutOptions {
  /** Rate of the PCM handed to `transmit`. */
  readonly sampleRate: number;
  /** Length of one transmitted frame, ms (default 20). */
  readonly frameMs?: number;
  /** Audio queued here and not yet sent, at most; `write` waits while it is full. */
  readonly bufferMs: number;
  /** How far ahead of real time audio is sent (the platform's playout cushion). */
  readonly leadMs: number;
  readonly pacer: Pacer;
  /** Send one frame of s16le PCM; false when the connection cannot take it now (it is retried on the next slot). */
  readonly transmit: (frame: Buffer) => boolean;
  /** Absent: the platform plays what it gets at once (AudioSocket), and played means sent on its real-time slot. */
  readonly marks?: MarkOptions;
}

interface PendingMark {
  readonly name: string;
  /** Position (ms of audio on the leg's timeline) the mark follows. */
  readonly pos: number;
  /** When its audio should have finished playing, if the platform plays at real time from when it got it. */
  readonly dueAt: number;
}

/**
 * Outbound audio of a bridged call: paced at real time with a bounded lead by the WebSocket medium's
 * `PacedOutput` (never dumped at once, never behind real time), and, for platforms that queue audio, marks
 * that tell what the caller has actually heard.
 *
 * With marks, `playedMs` is the position of the last acknowledged mark (the platform played everything
 * before it), and `clearOutput` assumes the platform dropped everything after it: the leg's timeline rolls
 * back to the acknowledged position, marks still outstanding are forgotten (the echoes a platform sends for
 * them on a flush are ignored), and the dropped figure is what was written beyond it. Without marks the
 * positions are `PacedOutput`'s (played = sent on its real-time slot).
 */
export class QueuedPlayout {
  readonly sampleRate: number;
  readonly #paced: PacedOutput;
  readonly #marks: MarkOptions | undefined;
  readonly #clock: Clock;
  readonly #transmit: (frame: Buffer) => boolean;
  /** Timeline position of the audio sent (rolled back to the acknowledged position on a clear). */
  #sentPos = 0;
  #ackedPos = 0;
  #lastMarkPos = 0;
  /** PacedOutput's written position minus ours (they differ by what clears rolled back differently). */
  #writtenOffset = 0;
  /** When the audio sent so far will have played, at real time from its sending. */
  #playoutEnd = 0;
  #pending: PendingMark[] = [];
  #seq = 0;
  /** drained() was asked: mark as soon as the queue runs empty. */
  #markWhenEmpty = false;
  #settleWaiters: Array<() => void> = [];
  #settleTimer: TimerHandle | undefined;
  #stopped = false;
  #marksSent = 0;
  #marksAcked = 0;
  #marksExpired = 0;
  #marksUnknown = 0;

  constructor(options: QueuedPlayoutOptions) {
    this.sampleRate = options.sampleRate;
    this.#marks = options.marks;
    this.#clock = options.pacer.clock;
    this.#transmit = options.transmit;
    this.#paced = new PacedOutput({
      sampleRate: options.sampleRate,
      bufferMs: options.bufferMs,
      leadMs: options.leadMs,
      pacer: options.pacer,
      ...(options.frameMs === undefined ? {} : { frameMs: options.frameMs }),
      transmit: (frame) => this.#send(frame),
    });
  }

  get framesSent(): number {
    return this.#paced.framesSent;
  }

  /** Marks sent, acknowledged, expired (counted as played without an acknowledgement), and echoes of unknown names. */
  markStats(): { marksSent: number; marksAcked: number; marksExpired: number; marksUnknown: number } {
    return { marksSent: this.#marksSent, marksAcked: this.#marksAcked, marksExpired: this.#marksExpired, marksUnknown: this.#marksUnknown };
  }

  /** Start pacing (the call was answered). */
  start(): void {
    this.#paced.start();
  }

  /** Stop for good: queued audio is discarded, waiters resolve. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#paced.stop();
    this.#pending = [];
    this.#settled();
  }

  sendFrame(frame: AudioFrame): boolean {
    return this.#paced.sendFrame(frame);
  }

  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.#paced.write(frame, signal);
  }

  /**
   * Resolves once everything written has been sent and its real-time slot has passed and, with marks, once
   * the platform acknowledged (or the timeout gave up on) the mark after the last of it.
   */
  async drained(signal?: AbortSignal): Promise<void> {
    if (this.#marks === undefined) return this.#paced.drained(signal);
    this.#markWhenEmpty = true;
    // PacedOutput.drained pushes the partial frame and pumps synchronously when there is room.
    const sent = this.#paced.drained(signal);
    if (this.#paced.size === 0) this.#markNow();
    await sent;
    if (this.#stopped || signal?.aborted === true) return;
    if (this.#paced.size === 0) {
      this.#markNow();
      this.#markWhenEmpty = false;
    }
    await this.#marksSettled(signal);
  }

  /** Hold audio not yet sent (what the platform already has plays on), or go on. */
  pause(paused: boolean): void {
    this.#paced.pause(paused);
  }

  /**
   * Take back the audio sent ahead of real time that has not played (see `PacedOutput.rewind`): it is sent
   * again on resume, so the caller must have the platform flush what it holds. Marks after the rewound point
   * are forgotten (a platform's echoes of them on the flush are ignored). Returns the audio taken back, ms.
   */
  rewind(): number {
    const ms = this.#paced.rewind();
    if (ms <= 0 || this.#marks === undefined) return ms;
    this.#sentPos = Math.max(this.#ackedPos, this.#sentPos - ms);
    this.#pending = this.#pending.filter((m) => m.pos <= this.#sentPos);
    this.#lastMarkPos = Math.min(this.#lastMarkPos, this.#sentPos);
    this.#playoutEnd = this.#clock.now();
    if (this.#pending.length === 0) this.#settled();
    return ms;
  }

  /**
   * Barge-in: drop what is queued here and, with marks, everything after the last acknowledged mark.
   * `platformHadAudio`: the platform may hold audio of ours (it must be told to flush).
   */
  clear(): { droppedMs: number; platformHadAudio: boolean } {
    if (this.#marks === undefined) {
      const r = this.#paced.clear();
      return { droppedMs: r.droppedMs, platformHadAudio: r.clientHadAudio };
    }
    const now = this.#clock.now();
    this.#expire(now);
    const before = this.position().writtenMs;
    const r = this.#paced.clear();
    // Something unacknowledged is certainly queued there; anything sent since the last clear may be (a
    // platform may acknowledge a little early): the flush is cheap, a missed one is not.
    const platformHadAudio = r.clientHadAudio || this.#sentPos > this.#ackedPos || this.#pending.length > 0;
    this.#pending = [];
    this.#sentPos = this.#ackedPos;
    this.#lastMarkPos = this.#ackedPos;
    this.#playoutEnd = now;
    this.#markWhenEmpty = false;
    this.#writtenOffset = this.#paced.position().writtenMs - this.#ackedPos;
    this.#settled();
    return { droppedMs: Math.max(0, before - this.#ackedPos), platformHadAudio };
  }

  /** Audio accepted (minus drops) and audio the caller has heard, ms on the leg's timeline. */
  position(): { writtenMs: number; playedMs: number } {
    if (this.#marks === undefined) return this.#paced.position();
    this.#expire(this.#clock.now());
    const writtenMs = this.#paced.position().writtenMs - this.#writtenOffset;
    return { writtenMs, playedMs: Math.min(this.#ackedPos, writtenMs) };
  }

  /**
   * The platform reports mark `name` played: it and every mark before it count as played. False for a name
   * not outstanding (sent before a clear, echoed twice, or never sent): ignored.
   */
  acknowledge(name: string): boolean {
    const i = this.#pending.findIndex((m) => m.name === name);
    if (i < 0) {
      this.#marksUnknown++;
      return false;
    }
    const mark = this.#pending[i] as PendingMark;
    this.#pending.splice(0, i + 1);
    this.#marksAcked += i + 1;
    if (mark.pos > this.#ackedPos) this.#ackedPos = mark.pos;
    if (this.#pending.length === 0) this.#settled();
    return true;
  }

  #send(frame: Buffer): boolean {
    if (!this.#transmit(frame)) return false;
    const marks = this.#marks;
    if (marks === undefined) return true;
    const ms = (frame.byteLength * 500) / this.sampleRate;
    const now = this.#clock.now();
    this.#sentPos += ms;
    this.#playoutEnd = Math.max(this.#playoutEnd, now) + ms;
    // In here the frame being sent still counts in the queue: size 1 means it was the last one.
    const last = this.#markWhenEmpty && this.#paced.size <= 1;
    if (last || this.#sentPos - this.#lastMarkPos >= marks.everyMs) this.#markNow();
    if (last) this.#markWhenEmpty = false;
    return true;
  }

  #markNow(): void {
    const marks = this.#marks;
    if (marks === undefined || this.#stopped || this.#sentPos <= this.#lastMarkPos) return;
    if (this.#pending.length >= marks.maxPending) {
      this.#expire(this.#clock.now());
      if (this.#pending.length >= marks.maxPending) return;
    }
    const name = `cr-${++this.#seq}`;
    this.#pending.push({ name, pos: this.#sentPos, dueAt: Math.max(this.#playoutEnd, this.#clock.now()) });
    this.#lastMarkPos = this.#sentPos;
    this.#marksSent++;
    marks.send(name);
  }

  /** Marks overdue by more than the timeout count as played. */
  #expire(now: number): void {
    const marks = this.#marks;
    if (marks === undefined) return;
    let expired = 0;
    while (this.#pending.length > 0 && now > (this.#pending[0] as PendingMark).dueAt + marks.timeoutMs) {
      const mark = this.#pending.shift() as PendingMark;
      if (mark.pos > this.#ackedPos) this.#ackedPos = mark.pos;
      expired++;
    }
    if (expired > 0) {
      this.#marksExpired += expired;
      if (this.#pending.length === 0) this.#settled();
    }
  }

  #marksSettled(signal: AbortSignal | undefined): Promise<void> {
    this.#expire(this.#clock.now());
    if (this.#pending.length === 0 || this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.#settleWaiters.push(done);
      this.#armSettleTimer();
    });
  }

  /** Wake when the oldest outstanding mark would expire. */
  #armSettleTimer(): void {
    const marks = this.#marks;
    const first = this.#pending[0];
    if (marks === undefined || first === undefined || this.#settleTimer !== undefined) return;
    const wait = Math.max(1, first.dueAt + marks.timeoutMs - this.#clock.now() + 1);
    this.#settleTimer = this.#clock.setTimeout(() => {
      this.#settleTimer = undefined;
      this.#expire(this.#clock.now());
      if (this.#pending.length > 0 && this.#settleWaiters.length > 0) this.#armSettleTimer();
    }, wait);
  }

  #settled(): void {
    if (this.#settleTimer !== undefined) {
      this.#clock.clearTimeout(this.#settleTimer);
      this.#settleTimer = undefined;
    }
    for (const w of this.#settleWaiters.splice(0)) w();
  }
}
