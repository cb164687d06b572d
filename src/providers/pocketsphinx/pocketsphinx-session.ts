import type { AudioFrame } from '../../core/audio-frame.ts';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { alawDecode, mulawDecode } from '../../media/g711.ts';
import type { Resampler } from '../../media/resample/index.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, SttEvent, SttSession, WordTiming } from '../types.ts';
import { POCKETSPHINX_FRAME_RATE, POCKETSPHINX_SAMPLE_RATE, type PocketsphinxDecoder, type PocketsphinxPool } from './decoder-pool.ts';

export interface PocketsphinxSessionSettings {
  readonly sampleRate: number;
  readonly encoding: AudioEncoding;
  /** Audio handed to the decoder per call (default 100 ms): the interim cadence. */
  readonly chunkMs: number;
  /** Converts the session's rate to 16 kHz when it is higher (undefined at 16 kHz). */
  readonly resampler: Resampler | undefined;
  /** Most audio queued for the decoder, in ms; beyond it the oldest is dropped (and logged). */
  readonly maxQueueMs: number;
  readonly logger: Logger;
}

/** Samples per decoder frame. */
const FRAME_SAMPLES = POCKETSPHINX_SAMPLE_RATE / POCKETSPHINX_FRAME_RATE;

/** Filler and silence tokens of the en-us dictionary: `<s>`, `</s>`, `<sil>`, `[NOISE]`, `+BREATH+`... */
function isFiller(word: string): boolean {
  return word.startsWith('<') || word.startsWith('[') || word.startsWith('+');
}

/**
 * One streaming recognition over a pooled decoder. Audio is queued synchronously by `write` and fed
 * to the decoder in `chunkMs` pieces by a single pump (native calls run on koffi's threads, one at a
 * time per decoder). After each piece the partial hypothesis becomes an interim transcript. When the
 * decoder's own VAD sees speech end, the utterance is closed: final transcript (with word timings) and
 * utterance_end. `finalize()` and `close()` force the same for the audio so far.
 *
 * The queue is bounded (`maxQueueMs`, 5 s by default): a decoder that falls that far behind (an
 * overloaded host) loses the oldest queued audio rather than letting memory and latency grow without
 * limit. Drops are counted (`droppedMs`), logged once per episode, and left out of the timeline the
 * decoder sees, so timestamps are mapped back to the caller's audio time.
 */
export class PocketsphinxSession implements SttSession {
  readonly #decoder: PocketsphinxDecoder;
  readonly #pool: PocketsphinxPool;
  readonly #settings: PocketsphinxSessionSettings;
  readonly #signal: AbortSignal | undefined;
  readonly #events = new BoundedChannel<SttEvent>(4096, 'drop-oldest');
  readonly #chunk: number;
  readonly #queue: Int16Array[] = [];
  #queued = 0;
  #queueHead = 0;
  readonly #maxQueued: number;
  /** Samples (16 kHz) taken from the queue for the decoder, and dropped from it, so far. */
  #taken = 0;
  #dropped = 0;
  #dropping = false;
  /** Where drops happened: decoder position (samples taken) and the total dropped by then. */
  readonly #drops: Array<{ at: number; total: number }> = [];
  #buf: Int16Array;
  #fed = 0;
  /** The decoder's frame count when this session started (see PocketsphinxDecoder.samplesFed). */
  readonly #frameBase: number;
  #inSpeech = false;
  #lastHyp = '';
  #finalizeWanted = false;
  #pump: Promise<void> | undefined;
  #ending: Promise<void> | undefined;
  #stopped = false;
  #failed = false;

  constructor(decoder: PocketsphinxDecoder, pool: PocketsphinxPool, settings: PocketsphinxSessionSettings, signal?: AbortSignal) {
    this.#decoder = decoder;
    this.#pool = pool;
    this.#settings = settings;
    this.#signal = signal;
    this.#chunk = Math.max(160, Math.round((POCKETSPHINX_SAMPLE_RATE * settings.chunkMs) / 1000));
    this.#buf = new Int16Array(this.#chunk);
    this.#maxQueued = Math.max(this.#chunk, Math.round((POCKETSPHINX_SAMPLE_RATE * settings.maxQueueMs) / 1000));
    this.#frameBase = (decoder.samplesFed * POCKETSPHINX_FRAME_RATE) / POCKETSPHINX_SAMPLE_RATE;
    decoder.lib.startUtt(decoder.ps);
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  write(frame: AudioFrame): void {
    if (this.#stopped || frame.sampleRate !== this.#settings.sampleRate || frame.samples.length === 0) return;
    this.#enqueue(frame.samples);
  }

  writeEncoded(bytes: Uint8Array): void {
    if (this.#stopped || bytes.length === 0) return;
    const enc = this.#settings.encoding;
    if (enc === 'mulaw') this.#enqueue(mulawDecode(bytes));
    else if (enc === 'alaw') this.#enqueue(alawDecode(bytes));
    else {
      const pcm = new Int16Array(bytes.length >> 1);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(2 * i, true);
      this.#enqueue(pcm);
    }
  }

  keepAlive(): void {
    // Nothing to keep alive: the decoder is local.
  }

  finalize(): void {
    if (this.#stopped) return;
    this.#finalizeWanted = true;
    this.#kick();
  }

  events(): AsyncIterable<SttEvent> {
    return this.#events;
  }

  /** Audio dropped because the decoder fell more than `maxQueueMs` behind, in ms. */
  get droppedMs(): number {
    return (this.#dropped * 1000) / POCKETSPHINX_SAMPLE_RATE;
  }

  /** Audio waiting for the decoder, in ms. */
  get queuedMs(): number {
    return (this.#queued * 1000) / POCKETSPHINX_SAMPLE_RATE;
  }

  close(): Promise<void> {
    if (this.#ending !== undefined) return this.#ending;
    this.#stopped = true;
    const tail = this.#settings.resampler?.flush();
    if (tail !== undefined && tail.length > 0) {
      this.#queue.push(tail.slice());
      this.#queued += tail.length;
    }
    this.#finalizeWanted = true;
    this.#ending = this.#finish(true);
    return this.#ending;
  }

  readonly #onAbort = (): void => {
    if (this.#ending !== undefined) return;
    this.#stopped = true;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#queued = 0;
    this.#ending = this.#finish(false);
  };

  #enqueue(samples: Int16Array): void {
    const r = this.#settings.resampler;
    const pcm = r === undefined ? samples.slice() : r.process(samples).slice();
    if (pcm.length === 0) return;
    this.#queue.push(pcm);
    this.#queued += pcm.length;
    if (this.#queued > this.#maxQueued) this.#dropOldest(this.#queued - this.#maxQueued);
    else if (this.#dropping && this.#queued <= this.#maxQueued / 2) this.#dropping = false;
    if (this.#queued >= this.#chunk) this.#kick();
  }

  /** Drop `n` samples from the head of the queue (the decoder is too far behind). */
  #dropOldest(n: number): void {
    let left = n;
    while (left > 0) {
      const head = this.#queue[this.#queueHead] as Int16Array;
      if (head.length <= left) {
        left -= head.length;
        this.#queueHead++;
      } else {
        this.#queue[this.#queueHead] = head.subarray(left);
        left = 0;
      }
    }
    this.#queued -= n;
    this.#dropped += n;
    const last = this.#drops.at(-1);
    if (last !== undefined && last.at === this.#taken) last.total = this.#dropped;
    else this.#drops.push({ at: this.#taken, total: this.#dropped });
    if (this.#queueHead > 64) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    if (!this.#dropping) {
      this.#dropping = true;
      this.#settings.logger.warn(
        { droppedMs: Math.round(this.droppedMs), maxQueueMs: this.#settings.maxQueueMs },
        'pocketsphinx: decoder behind, dropping the oldest queued audio',
      );
    }
  }

  /** Seconds of the caller's audio at decoder position `samples` (drops before it added back). */
  #sessionSec(samples: number): number {
    let dropped = 0;
    for (const d of this.#drops) {
      if (d.at > samples) break;
      dropped = d.total;
    }
    return (samples + dropped) / POCKETSPHINX_SAMPLE_RATE;
  }

  #kick(): void {
    if (this.#pump !== undefined || this.#failed) return;
    this.#pump = this.#run().finally(() => {
      this.#pump = undefined;
    });
  }

  /** Feed queued audio and end utterances as asked, until there is nothing to do. */
  async #run(): Promise<void> {
    const { lib, ps } = this.#decoder;
    try {
      for (;;) {
        if (this.#signal?.aborted === true || this.#failed) return;
        if (this.#queued >= this.#chunk || (this.#finalizeWanted && this.#queued > 0)) {
          const n = this.#take(Math.min(this.#chunk, this.#queued));
          const frames = await lib.processRaw(ps, this.#buf, n);
          if (frames < 0) throw new Error(`ps_process_raw returned ${frames}`);
          this.#fed += n;
          this.#decoder.samplesFed += n;
          await this.#afterChunk(n);
          continue;
        }
        if (this.#finalizeWanted) {
          this.#finalizeWanted = false;
          await this.#endUtterance(true);
          continue;
        }
        return;
      }
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Copy `n` queued samples into the decoder buffer. */
  #take(n: number): number {
    let filled = 0;
    while (filled < n) {
      const head = this.#queue[this.#queueHead] as Int16Array;
      const k = Math.min(n - filled, head.length);
      this.#buf.set(head.subarray(0, k), filled);
      filled += k;
      if (k === head.length) this.#queueHead++;
      else this.#queue[this.#queueHead] = head.subarray(k);
    }
    this.#queued -= n;
    this.#taken += n;
    if (this.#queueHead > 64 || this.#queueHead === this.#queue.length) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    return n;
  }

  async #afterChunk(n: number): Promise<void> {
    const { lib, ps } = this.#decoder;
    const inSpeech = lib.getInSpeech(ps);
    if (inSpeech && !this.#inSpeech) {
      this.#events.push({ type: 'speech_started', timestamp: this.#sessionSec(this.#fed - n) });
    }
    const hyp = (lib.getHyp(ps) ?? '').trim();
    if (hyp !== '' && hyp !== this.#lastHyp) {
      this.#lastHyp = hyp;
      this.#events.push({ type: 'transcript', text: hyp, isFinal: false, speechFinal: false });
    }
    const endpoint = this.#inSpeech && !inSpeech;
    this.#inSpeech = inSpeech;
    // The decoder's VAD saw the speech end: close the utterance as pocketsphinx's continuous mode does.
    if (endpoint) await this.#endUtterance(false);
  }

  /** End the utterance, emit its final (always when forced by finalize/close), start the next one. */
  async #endUtterance(forced: boolean): Promise<void> {
    const { lib, ps } = this.#decoder;
    const rc = await lib.endUtt(ps);
    if (rc < 0) throw new Error(`ps_end_utt returned ${rc}`);
    const text = (lib.getHyp(ps) ?? '').trim();
    const words: WordTiming[] = [];
    if (text !== '') {
      for (const s of lib.segments(ps)) {
        if (isFiller(s.word)) continue;
        words.push({
          // Alternate pronunciations come back as "word(2)".
          word: s.word.replace(/\(\d+\)$/, ''),
          start: this.#sessionSec(Math.max(0, (s.startFrame - this.#frameBase) * FRAME_SAMPLES)),
          end: this.#sessionSec(Math.max(0, (s.endFrame + 1 - this.#frameBase) * FRAME_SAMPLES)),
        });
      }
    }
    if (text !== '' || (forced && this.#lastHyp !== '')) {
      this.#events.push({ type: 'transcript', text, isFinal: true, speechFinal: true, words });
    } else if (forced && !this.#stopped) {
      // finalize() promises a final result for the audio so far, even when it is empty.
      this.#events.push({ type: 'transcript', text: '', isFinal: true, speechFinal: true, words: [] });
    }
    if (text !== '') {
      const end = words.at(-1)?.end ?? this.#sessionSec(this.#fed);
      this.#events.push({ type: 'utterance_end', timestamp: end });
    }
    this.#lastHyp = '';
    this.#inSpeech = false;
    if (lib.startUtt(ps) < 0) throw new Error('ps_start_utt failed');
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#stopped = true;
    const error = new ProviderError('pocketsphinx', 'CR_STT_ENGINE', `decoder failed: ${errorMessage(err)}`, { cause: err });
    this.#events.push({ type: 'error', error, retryable: false });
    if (this.#ending === undefined) this.#ending = this.#finish(false);
  }

  /** Let the pump finish (flushing what is left when asked), give the decoder back, emit closed. */
  async #finish(flush: boolean): Promise<void> {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    if (flush) this.#kick();
    while (this.#pump !== undefined) await this.#pump;
    this.#settings.resampler?.close();
    if (this.#failed) {
      this.#pool.discard(this.#decoder);
    } else {
      // End the (possibly abandoned) current utterance so the decoder goes back clean.
      const { lib, ps } = this.#decoder;
      const rc = await lib.endUtt(ps).catch(() => -1);
      if (rc < 0) this.#pool.discard(this.#decoder);
      else this.#pool.release(this.#decoder);
    }
    this.#events.push({ type: 'closed' });
    this.#events.close();
  }
}
