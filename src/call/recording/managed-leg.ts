/**
 * The leg the call manager gives a session, around the medium's (or the recorder's) leg. It does two things
 * the session does not know about:
 *
 * - Playout marks: when audio is written into an idle output (or after a pause in writing), it watches the
 *   medium's played position until that audio starts to leave, so each turn's waterfall can say when the
 *   first packet of the reply went out, not only when its first audio was written. One short poll per talk
 *   spurt, nothing per frame.
 * - Take-over: at the end of a drain the manager silences the session (its writes, clears and pauses are
 *   ignored from then on) and speaks a goodbye on the leg underneath.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.ts';
import type { CallLeg, LegEncoding } from '../call-leg.ts';
import { LegDecorator } from './leg-decorator.ts';

interface Watch {
  /** Clock ms of the write. */
  readonly at: number;
  /** Output position (written ms) before the write: the audio starts to leave once played passes it. */
  readonly from: number;
}

/** A pause in writing this long starts a new watch (a reply after a filler, say). */
const NEW_SPURT_AFTER_MS = 100;
const POLL_MS = 5;
const GIVE_UP_MS = 5_000;
const KEEP_RESOLVED = 16;
const MAX_PENDING = 8;

export class ManagedLeg extends LegDecorator {
  readonly #clock: Clock;
  readonly #pending: Watch[] = [];
  readonly #resolved: Array<{ readonly at: number; readonly outAt: number }> = [];
  #lastWriteAt = -Infinity;
  #timer: TimerHandle | undefined;
  #muted = false;

  constructor(inner: CallLeg, clock: Clock = systemClock()) {
    super(inner);
    this.#clock = clock;
    void inner.ended.then(
      () => this.#stop(),
      () => this.#stop(),
    );
  }

  /** The session no longer speaks on this call. */
  get muted(): boolean {
    return this.#muted;
  }

  override sendFrame(frame: AudioFrame): boolean {
    if (this.#muted) return false;
    this.#note();
    return this.inner.sendFrame(frame);
  }

  override write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    if (this.#muted) return Promise.resolve();
    this.#note();
    return this.inner.write(frame, signal);
  }

  override writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    if (this.#muted) return Promise.resolve();
    this.#note();
    return this.inner.writeEncoded(bytes, encoding, signal);
  }

  override pauseOutput(paused: boolean): void {
    if (!this.#muted) this.inner.pauseOutput(paused);
  }

  override clearOutput(): { readonly droppedMs: number } {
    if (this.#muted) return { droppedMs: 0 };
    const r = this.inner.clearOutput();
    // Audio that was dropped never leaves.
    const written = this.inner.outputPosition().writtenMs;
    for (let i = this.#pending.length - 1; i >= 0; i--) if ((this.#pending[i] as Watch).from >= written) this.#pending.splice(i, 1);
    return r;
  }

  /**
   * Silence the session from now on and return the leg underneath, its queued audio dropped and output
   * running, for the manager's own words.
   */
  takeOver(): CallLeg {
    if (!this.#muted) {
      this.#muted = true;
      this.inner.clearOutput();
      this.inner.pauseOutput(false);
    }
    return this.inner;
  }

  /**
   * When the first packet of audio written at clock time `writtenAt` (± 3 ms) left, or undefined when that
   * write was not watched (it went into a busy output) or has not left.
   */
  firstPacketAfter(writtenAt: number): number | undefined {
    for (let i = this.#resolved.length - 1; i >= 0; i--) {
      const r = this.#resolved[i] as { at: number; outAt: number };
      if (Math.abs(r.at - writtenAt) <= 3) return r.outAt;
    }
    return undefined;
  }

  #note(): void {
    const now = this.#clock.now();
    const pos = this.inner.outputPosition();
    const idle = pos.writtenMs - pos.playedMs < 1;
    if ((idle || now - this.#lastWriteAt >= NEW_SPURT_AFTER_MS) && this.#pending.length < MAX_PENDING) {
      this.#pending.push({ at: now, from: pos.writtenMs });
      this.#timer ??= this.#clock.setTimeout(() => this.#poll(), POLL_MS);
    }
    this.#lastWriteAt = now;
  }

  #poll(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const pos = this.inner.outputPosition();
    while (this.#pending.length > 0) {
      const w = this.#pending[0] as Watch;
      if (pos.playedMs > w.from) {
        this.#resolved.push({ at: w.at, outAt: now });
        if (this.#resolved.length > KEEP_RESOLVED) this.#resolved.shift();
      } else if (now - w.at < GIVE_UP_MS && pos.writtenMs > w.from) {
        break;
      }
      this.#pending.shift();
    }
    if (this.#pending.length > 0) this.#timer = this.#clock.setTimeout(() => this.#poll(), POLL_MS);
  }

  #stop(): void {
    this.#pending.length = 0;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
