/**
 * The model's voice to the caller, paced by the leg. Realtime models send a response's audio in a burst
 * and then faster than real time, so it is queued here per output item and written to the leg one delta
 * at a time; the leg's `write`/`writeEncoded` wait on its bounded real-time buffer, which is what paces it.
 * G.711 in the leg's own law goes out as the model's bytes (`writeEncoded`), PCM through `write` (the
 * leg converts the rate).
 *
 * Heard audio per item: each item's audio is placed on the leg's output timeline as it is written, and
 * the leg's `outputPosition().playedMs` (audio that has left for the caller) tells how much of it was
 * played, so a barge-in can tell the model exactly what the caller heard (`interrupt`). Writes in flight
 * are aborted before the leg's buffer is cleared, so nothing written before the barge-in slips out after it.
 */
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { alawDecode, mulawDecode } from '../../media/g711.ts';
import type { RealtimeAudioFormat } from '../../providers/types.ts';
import type { CallLeg } from '../call-leg.ts';
import { bytesPerMs } from './formats.ts';
import { pcmSamples } from './input-encoder.ts';
import { ItemTimeline } from './item-timeline.ts';

export interface PlayoutChunk {
  readonly itemId: string;
  readonly responseId: string;
  readonly bytes: Uint8Array;
  readonly format: RealtimeAudioFormat;
}

/** An item the caller did not hear to its end. */
export interface ItemCut {
  readonly itemId: string;
  readonly responseId: string;
  /** Audio of the item that left for the caller. */
  readonly playedMs: number;
  /** Audio of the item received from the model. */
  readonly receivedMs: number;
}

export interface PlayoutOptions {
  readonly leg: CallLeg;
  readonly logger: Logger;
  /** An item's first audio was handed to the leg. */
  readonly onFirstAudio?: (itemId: string, responseId: string) => void;
  /** Audio started (true), or everything has played out or was dropped (false). */
  readonly onActive?: (active: boolean) => void;
  /** Audio held here at most; beyond it the oldest is dropped (default 5 min). */
  readonly maxQueuedMs?: number;
}

interface Queued extends PlayoutChunk {
  readonly ms: number;
  readonly item: ItemTimeline;
}

export class Playout {
  readonly #o: PlayoutOptions;
  readonly #maxQueuedMs: number;
  #queue: Queued[] = [];
  #queuedMs = 0;
  readonly #items = new Map<string, ItemTimeline>();
  /** Responses whose audio may still come. */
  readonly #open = new Set<string>();
  #lineEnd = -Infinity;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #active = false;
  #needsFlush = false;
  #idleWaiters: Array<() => void> = [];
  #warnedFull = false;
  #closed = false;
  readonly #loop: Promise<void>;

  constructor(options: PlayoutOptions) {
    this.#o = options;
    this.#maxQueuedMs = options.maxQueuedMs ?? 300_000;
    this.#loop = this.#run();
  }

  /** Audio is queued or playing (or a response that has sent audio is still going). */
  get active(): boolean {
    return this.#active;
  }

  enqueue(chunk: PlayoutChunk): void {
    if (this.#closed || chunk.bytes.byteLength === 0) return;
    const ms = chunk.bytes.byteLength / bytesPerMs(chunk.format);
    let item = this.#items.get(chunk.itemId);
    if (item === undefined) {
      if (this.#items.size >= 32) this.#prune();
      item = new ItemTimeline(chunk.itemId, chunk.responseId);
      this.#items.set(chunk.itemId, item);
    }
    item.receivedMs += ms;
    this.#open.add(chunk.responseId);
    this.#queue.push({ ...chunk, ms, item });
    this.#queuedMs += ms;
    while (this.#queuedMs > this.#maxQueuedMs && this.#queue.length > 1) {
      this.#queuedMs -= this.#queue.shift()?.ms ?? 0;
      if (!this.#warnedFull) this.#o.logger.warn({ maxQueuedMs: this.#maxQueuedMs }, 'realtime: model audio backlog full, oldest dropped');
      this.#warnedFull = true;
    }
    this.#setActive(true);
    this.#kick();
  }

  /** No more audio will come for this response (its end, or the model connection went away). */
  responseDone(responseId: string): void {
    if (this.#open.delete(responseId)) this.#kick();
  }

  /** Every response ends (the model's session was replaced). */
  endResponses(): void {
    this.#open.clear();
    this.#kick();
  }

  /**
   * Barge-in: stop now. Writes in flight are aborted, queued audio is dropped here and in the leg, and the
   * items the caller did not hear to the end are returned with what was played of each.
   */
  interrupt(): { readonly cuts: ItemCut[]; readonly droppedMs: number } {
    this.#abort.abort();
    this.#abort = new AbortController();
    const queued = this.#queuedMs;
    this.#queue = [];
    this.#queuedMs = 0;
    // Read before clearing: nothing plays in between (synchronous), and a leg's written count may be cut
    // short by the clear (a write aborted half way), which would clamp its played count.
    const played = this.#o.leg.outputPosition().playedMs;
    const { droppedMs } = this.#o.leg.clearOutput();
    const cuts: ItemCut[] = [];
    for (const item of this.#items.values()) {
      const heard = item.playedAt(played);
      if (heard < item.receivedMs - 0.5 || this.#open.has(item.responseId)) {
        cuts.push({ itemId: item.itemId, responseId: item.responseId, playedMs: heard, receivedMs: item.receivedMs });
      }
    }
    this.#items.clear();
    this.#open.clear();
    this.#lineEnd = -Infinity;
    this.#needsFlush = false;
    this.#setActive(false);
    this.#kick();
    return { cuts, droppedMs: droppedMs + queued };
  }

  /** Resolves when everything queued so far has played (or was dropped), or `signal` aborts. */
  playedOut(signal?: AbortSignal): Promise<void> {
    if (!this.#active || this.#closed || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#idleWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#queue = [];
    this.#queuedMs = 0;
    this.#items.clear();
    this.#setActive(false);
    this.#kick();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#queuedMs -= chunk.ms;
        await this.#write(chunk);
        continue;
      }
      // Waiting for more of a response: the partial packet stays with the leg for the audio that follows.
      if (this.#open.size > 0) {
        await this.#sleep();
        continue;
      }
      if (this.#needsFlush) {
        this.#needsFlush = false;
        const signal = this.#abort.signal;
        try {
          await this.#o.leg.drained(signal);
        } catch (err) {
          if (!signal.aborted) this.#o.logger.debug({ err: errorMessage(err) }, 'realtime: drain failed');
        }
        continue;
      }
      this.#items.clear();
      this.#setActive(false);
      await this.#sleep();
    }
  }

  async #write(chunk: Queued): Promise<void> {
    const { leg } = this.#o;
    const signal = this.#abort.signal;
    const start = Math.max(this.#lineEnd, leg.outputPosition().playedMs);
    const first = chunk.item.segments.length === 0;
    chunk.item.place(start, chunk.ms);
    this.#lineEnd = start + chunk.ms;
    this.#needsFlush = true;
    if (first) this.#o.onFirstAudio?.(chunk.itemId, chunk.responseId);
    const encoding = chunk.format.encoding;
    chunk.item.write ??= encoding === 'pcm_s16le' ? 'pcm' : leg.outputFormat?.encoding === encoding ? 'encoded' : 'decode';
    try {
      if (encoding === 'pcm_s16le') {
        const samples = pcmSamples(chunk.bytes, chunk.item.carry);
        await leg.write({ samples, sampleRate: chunk.format.sampleRate, timestamp: 0 }, signal);
      } else if (chunk.item.write === 'encoded') {
        await leg.writeEncoded(chunk.bytes, encoding, signal);
      } else {
        const samples = encoding === 'mulaw' ? mulawDecode(chunk.bytes) : alawDecode(chunk.bytes);
        await leg.write({ samples, sampleRate: chunk.format.sampleRate, timestamp: 0 }, signal);
      }
    } catch (err) {
      if (!signal.aborted) this.#o.logger.warn({ err: errorMessage(err) }, 'realtime: playout write failed');
    }
  }

  /** Forget items that have played out and whose responses are over. */
  #prune(): void {
    const played = this.#o.leg.outputPosition().playedMs;
    for (const [id, item] of this.#items) if (!this.#open.has(item.responseId) && item.endsAt() <= played) this.#items.delete(id);
  }

  #setActive(active: boolean): void {
    if (active === this.#active) return;
    this.#active = active;
    if (!active) for (const w of this.#idleWaiters.splice(0)) w();
    try {
      this.#o.onActive?.(active);
    } catch (err) {
      this.#o.logger.warn({ err: errorMessage(err) }, 'realtime: playout listener failed');
    }
  }

  #sleep(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #kick(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
