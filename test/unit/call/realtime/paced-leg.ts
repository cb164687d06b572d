/**
 * A `CallLeg` for unit tests of the realtime playout: G.711 at 8 kHz, 20 ms packets, a bounded send queue
 * that `write`/`writeEncoded` wait on (as the RTP leg's does), and `tick()` to play one packet (what the
 * pacer does every 20 ms). Everything written, and every packet played, is kept.
 */
import type { AudioFrame } from '../../../../src/core/audio-frame.ts';
import { AbortedError } from '../../../../src/core/errors.ts';
import { mulawEncode } from '../../../../src/media/g711.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, OutputPosition } from '../../../../src/call/call-leg.ts';

export class PacedLeg implements CallLeg {
  readonly id = 'leg-1';
  readonly medium = 'test';
  readonly ended: Promise<LegEnd> = new Promise(() => undefined);
  readonly inputFormat: LegAudioFormat = { sampleRate: 8000, encoding: 'mulaw' };
  readonly outputFormat: LegAudioFormat = { sampleRate: 8000, encoding: 'mulaw' };
  readonly clientTools = undefined;
  readonly transfer = undefined;
  /** Packets played (sent), in order. */
  readonly played: Uint8Array[] = [];
  /** PCM frames given to `write` (rate as given). */
  readonly frames: AudioFrame[] = [];
  clears = 0;
  drains = 0;
  readonly #capacity: number;
  #queue: Uint8Array[] = [];
  #pending: number[] = [];
  #writers: Array<() => void> = [];
  #empty: Array<() => void> = [];
  #writtenMs = 0;
  #droppedMs = 0;
  #playedMs = 0;

  constructor(capacityPackets = 5) {
    this.#capacity = capacityPackets;
  }

  /** Play one packet (one pacer slot). */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      const p = this.#queue.shift();
      if (p === undefined) return;
      this.played.push(p);
      this.#playedMs += 20;
      this.#writers.shift()?.();
      if (this.#queue.length === 0) for (const w of this.#empty.splice(0)) w();
    }
  }

  get queued(): number {
    return this.#queue.length;
  }

  async writeEncoded(bytes: Uint8Array, _encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    this.#writtenMs += bytes.length / 8;
    for (const b of bytes) this.#pending.push(b);
    while (this.#pending.length >= 160) {
      // The packet stays counted as pending until it is queued (a cleared leg reports it dropped, as the RTP leg does).
      const packet = Uint8Array.from(this.#pending.slice(0, 160));
      while (this.#queue.length >= this.#capacity) {
        if (signal?.aborted === true) throw new AbortedError();
        await new Promise<void>((resolve, reject) => {
          const wake = (): void => resolve();
          this.#writers.push(wake);
          signal?.addEventListener('abort', () => {
            this.#writers = this.#writers.filter((w) => w !== wake);
            reject(new AbortedError());
          }, { once: true });
        });
      }
      this.#pending.splice(0, 160);
      this.#queue.push(packet);
    }
  }

  async write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    this.frames.push(frame);
    if (frame.sampleRate === 8000) await this.writeEncoded(mulawEncode(frame.samples), 'mulaw', signal);
  }

  sendFrame(): boolean {
    return false;
  }

  /** Pad a partial packet, then wait until everything queued has played (or the signal aborts). */
  async drained(signal?: AbortSignal): Promise<void> {
    this.drains++;
    if (this.#pending.length > 0) {
      const pad = 160 - this.#pending.length;
      await this.writeEncoded(new Uint8Array(pad).fill(0xff), 'mulaw', signal);
    }
    if (this.#queue.length === 0 || signal?.aborted === true) return;
    await new Promise<void>((resolve) => {
      this.#empty.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  pauseOutput(): void {}

  clearOutput(): { droppedMs: number } {
    this.clears++;
    const droppedMs = this.#queue.length * 20 + this.#pending.length / 8;
    this.#queue = [];
    this.#pending = [];
    this.#droppedMs += droppedMs;
    for (const w of this.#writers.splice(0)) w();
    for (const w of this.#empty.splice(0)) w();
    return { droppedMs };
  }

  outputPosition(): OutputPosition {
    return { writtenMs: this.#writtenMs - this.#droppedMs, playedMs: this.#playedMs };
  }

  onFrame(): () => void {
    return () => undefined;
  }

  onEncoded(): () => void {
    return () => undefined;
  }

  onDtmf(_fn: (d: CallDtmf) => void): () => void {
    return () => undefined;
  }

  mediaStats(): Record<string, number> {
    return {};
  }

  async answer(): Promise<void> {}
  async hangup(): Promise<void> {}
  async sendDtmf(): Promise<void> {}
}
