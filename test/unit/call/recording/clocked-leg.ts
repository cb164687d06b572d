/**
 * A `CallLeg` on a hand-driven clock for the recording and playout tests: PCM at 8 kHz both ways. `step()` is
 * one 20 ms pacer slot: the clock moves 20 ms, one 20 ms packet of queued agent audio is played (unless output
 * is paused), and the next frame of `caller` (if any) is handed to `onFrame`, as a medium would.
 */
import type { CallDtmf, CallLeg, LegAudioFormat, LegEnd, OutputPosition } from '../../../../src/call/call-leg.ts';
import type { AudioFrame } from '../../../../src/core/audio-frame.ts';
import { FakeClock } from '../../../../src/core/clock.ts';

const SLOT = 160;

export class ClockedLeg implements CallLeg {
  readonly id = 'call-1';
  readonly medium = 'test';
  readonly ended: Promise<LegEnd>;
  readonly inputFormat: LegAudioFormat = { sampleRate: 8000, encoding: 'pcm_s16le' };
  readonly outputFormat: LegAudioFormat = { sampleRate: 8000, encoding: 'pcm_s16le' };
  readonly clientTools = undefined;
  readonly transfer = undefined;
  readonly clock: FakeClock;
  /** Caller audio handed out one 20 ms frame per step; silence after its end. */
  caller: Int16Array = new Int16Array(0);
  /** Agent audio played, in order (what the caller heard). */
  readonly played: number[] = [];
  /** Hand out no caller frames (a medium whose client sends nothing). */
  silentCaller = false;
  #callerAt = 0;
  #queue: number[] = [];
  #writtenMs = 0;
  #droppedMs = 0;
  #playedMs = 0;
  #paused = false;
  #frames = new Set<(f: AudioFrame) => void>();
  #end: (e: LegEnd) => void = () => undefined;

  constructor(clock = new FakeClock(1_000)) {
    this.clock = clock;
    this.ended = new Promise((resolve) => (this.#end = resolve));
  }

  /** One or more 20 ms slots. */
  step(n = 1): void {
    for (let i = 0; i < n; i++) {
      this.clock.advance(20);
      if (!this.#paused && this.#queue.length > 0) {
        const packet = this.#queue.splice(0, SLOT);
        while (packet.length < SLOT) packet.push(0);
        this.played.push(...packet);
        this.#playedMs += 20;
      }
      if (!this.silentCaller) {
        const frame = new Int16Array(SLOT);
        frame.set(this.caller.subarray(this.#callerAt, this.#callerAt + SLOT));
        this.#callerAt += SLOT;
        for (const fn of this.#frames) fn({ samples: frame, sampleRate: 8000, timestamp: 0 });
      }
    }
  }

  end(): void {
    this.#end({ reason: 'remote-hangup' });
  }

  onFrame(fn: (f: AudioFrame) => void): () => void {
    this.#frames.add(fn);
    return () => this.#frames.delete(fn);
  }

  onEncoded(): () => void {
    return () => undefined;
  }

  onDtmf(_fn: (d: CallDtmf) => void): () => void {
    return () => undefined;
  }

  sendFrame(frame: AudioFrame): boolean {
    this.#accept(frame);
    return true;
  }

  async write(frame: AudioFrame): Promise<void> {
    this.#accept(frame);
  }

  async writeEncoded(): Promise<void> {}

  async drained(): Promise<void> {}

  pauseOutput(paused: boolean): void {
    this.#paused = paused;
  }

  clearOutput(): { droppedMs: number } {
    const droppedMs = this.#queue.length / 8;
    this.#queue = [];
    this.#droppedMs += droppedMs;
    return { droppedMs };
  }

  outputPosition(): OutputPosition {
    return { writtenMs: this.#writtenMs - this.#droppedMs, playedMs: this.#playedMs };
  }

  mediaStats(): Record<string, number> {
    return {};
  }

  async answer(): Promise<void> {}
  async hangup(): Promise<void> {
    this.#end({ reason: 'local-hangup' });
  }
  async sendDtmf(): Promise<void> {}

  #accept(frame: AudioFrame): void {
    if (frame.sampleRate !== 8000) throw new Error('the clocked leg takes 8 kHz');
    for (const s of frame.samples) this.#queue.push(s);
    this.#writtenMs += frame.samples.length / 8;
  }
}

/** A sink that keeps what it is given, counting flushes. */
export class MemorySink {
  readonly parts: Int16Array[] = [];
  flushes = 0;
  closed = false;
  append(samples: Int16Array): void {
    this.parts.push(samples.slice());
  }
  async flush(): Promise<void> {
    this.flushes++;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** Samples per channel so far. */
  get frames(): number {
    return this.parts.reduce((n, p) => n + p.length, 0) / 2;
  }
  channel(c: 0 | 1): Int16Array {
    const all = new Int16Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      all.set(p, at);
      at += p.length;
    }
    const out = new Int16Array(all.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = all[2 * i + c] as number;
    return out;
  }
}

/** `ms` of a constant level at 8 kHz. */
export function level(ms: number, value: number): Int16Array {
  return new Int16Array(ms * 8).fill(value);
}

/** [start, end) ms of the samples equal to `value` (first and last), or undefined. */
export function span(track: Int16Array, value: number): { startMs: number; endMs: number; ms: number } | undefined {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = 0; i < track.length; i++) {
    if (track[i] === value) {
      if (first < 0) first = i;
      last = i;
      count++;
    }
  }
  return first < 0 ? undefined : { startMs: first / 8, endMs: (last + 1) / 8, ms: count / 8 };
}
