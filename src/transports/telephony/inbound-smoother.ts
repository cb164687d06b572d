import type { AudioFrame } from '../../core/audio-frame.ts';
import type { Pacer, PacerClient, PacerRegistration } from '../../media/rtp/pacer.ts';

/** Frames held at most before the oldest are released at once (bounds the added delay). */
const MAX_HELD = 10;

/**
 * Caller audio from a platform that sends it in chunks longer than a packet (Exotel: about 100 ms per
 * message), handed on one 20 ms frame per pacer slot, as a phone's RTP would arrive: the call's VAD, echo
 * guard and turn timing read arrival times, and five frames stamped with one instant look like nothing a
 * caller says. Adds at most one chunk of delay; a backlog over `MAX_HELD` frames is released at once.
 */
export class InboundSmoother implements PacerClient {
  readonly #emit: (frame: AudioFrame) => void;
  #queue: AudioFrame[] = [];
  #reg: PacerRegistration | null = null;

  constructor(emit: (frame: AudioFrame) => void) {
    this.#emit = emit;
  }

  start(pacer: Pacer, frameMs = 20): void {
    if (this.#reg === null) this.#reg = pacer.register(this, frameMs);
  }

  push(frame: AudioFrame): void {
    this.#queue.push(frame);
    while (this.#queue.length > MAX_HELD) this.#emit(this.#queue.shift() as AudioFrame);
  }

  onPace(): void {
    const frame = this.#queue.shift();
    if (frame !== undefined) this.#emit(frame);
  }

  stop(): void {
    this.#reg?.close();
    this.#reg = null;
    this.#queue = [];
  }
}
