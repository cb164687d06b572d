import { BoundedChannel } from '../core/bounded-channel.ts';
import type { VadEvent } from './vad.ts';

/**
 * Delivers a stream's events to its callback and to `events()` iterators. The channel exists only
 * once someone asked for `events()`, so a callback-only user buffers nothing. Events are rare (a few
 * per utterance); the cap only guards against a reader that never reads.
 */
export class VadEventSink {
  readonly #onEvent: ((e: VadEvent) => void) | undefined;
  #channel: BoundedChannel<VadEvent> | undefined;
  #closed = false;

  constructor(onEvent: ((e: VadEvent) => void) | undefined) {
    this.#onEvent = onEvent;
  }

  emit(event: VadEvent): void {
    if (this.#closed) return;
    this.#channel?.push(event);
    if (this.#onEvent !== undefined) {
      try {
        this.#onEvent(event);
      } catch {
        // A throwing listener must not break the media path that called push().
      }
    }
  }

  events(): AsyncIterable<VadEvent> {
    if (this.#channel === undefined) {
      this.#channel = new BoundedChannel<VadEvent>(256, 'drop-oldest');
      if (this.#closed) this.#channel.close();
    }
    return this.#channel;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel?.close();
  }
}
