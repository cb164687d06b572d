/**
 * One streaming recognition over a Sherpa-ONNX online stream. `write` only hands samples to the
 * feature extractor (cheap, synchronous, buffer reused); decoding runs once per event-loop turn
 * via setImmediate so a burst of frames costs one decode pass, not one per frame. Partial
 * hypotheses become interim transcripts; an endpoint (trailing silence rule) becomes a final with
 * speechFinal and an utterance_end, and the stream is reset for the next utterance.
 */
import type { AudioFrame } from '../../core/audio-frame.ts';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { SttEvent, SttSession, WordTiming } from '../types.ts';
import type { SherpaOnlineRecognizer, SherpaOnlineResult, SherpaOnlineStream } from './sherpa-module.ts';

export interface SherpaSessionSettings {
  readonly provider: string;
  readonly sampleRate: number;
  /**
   * Silence appended at finalize/close so the model's right context sees the last word. It is not
   * part of the caller's audio, so it does not advance the session clock.
   */
  readonly tailPaddingSec: number;
  readonly logger: Logger;
}

/** Tokens (sentencepiece '▁' or space marks a word start) -> words with approximate timings. */
export function wordsFromResult(r: SherpaOnlineResult, baseSec: number): WordTiming[] | undefined {
  const tokens = r.tokens;
  const ts = r.timestamps;
  if (tokens === undefined || ts === undefined || tokens.length === 0 || ts.length !== tokens.length) return undefined;
  const words: WordTiming[] = [];
  let cur: { word: string; start: number } | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    const t = baseSec + (ts[i] as number);
    const startsWord = tok.startsWith('▁') || tok.startsWith(' ') || cur === undefined;
    const piece = tok.replace(/^[▁ ]/, '');
    if (startsWord) {
      if (cur !== undefined && cur.word !== '') words.push({ word: cur.word, start: cur.start, end: t });
      cur = { word: piece, start: t };
    } else if (cur !== undefined) {
      cur.word += piece;
    }
  }
  if (cur !== undefined && cur.word !== '') {
    const last = baseSec + (ts[ts.length - 1] as number);
    words.push({ word: cur.word, start: cur.start, end: Math.max(cur.start, last) + 0.1 });
  }
  return words;
}

export class SherpaSttSession implements SttSession {
  readonly #rec: SherpaOnlineRecognizer;
  readonly #stream: SherpaOnlineStream;
  readonly #s: SherpaSessionSettings;
  readonly #events = new BoundedChannel<SttEvent>(1024, 'drop-oldest');
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#teardown();
  /** Reused between writes: sherpa copies the samples into its feature extractor. */
  #float = new Float32Array(0);
  readonly #waveform: { samples: Float32Array; sampleRate: number };
  #immediate: NodeJS.Immediate | undefined;
  #audioSec = 0;
  #segmentStartSec = 0;
  #lastText = '';
  #speechStarted = false;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  constructor(rec: SherpaOnlineRecognizer, stream: SherpaOnlineStream, settings: SherpaSessionSettings, signal?: AbortSignal) {
    this.#rec = rec;
    this.#stream = stream;
    this.#s = settings;
    this.#waveform = { samples: this.#float, sampleRate: settings.sampleRate };
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  write(frame: AudioFrame): void {
    if (this.#closed) return;
    this.#accept(frame.samples, frame.sampleRate);
  }

  /** Raw little-endian 16-bit PCM bytes (the only encoding this engine takes). */
  writeEncoded(bytes: Uint8Array): void {
    if (this.#closed) return;
    const n = bytes.byteLength >> 1;
    const samples =
      bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, n) : new Int16Array(bytes.slice(0, n * 2).buffer);
    this.#accept(samples, this.#s.sampleRate);
  }

  keepAlive(): void {
    // Nothing times out locally.
  }

  finalize(): void {
    if (this.#closed) return;
    this.#flush(false);
  }

  events(): AsyncIterable<SttEvent> {
    return this.#events;
  }

  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.#closed) return;
      this.#flush(true);
      this.#teardown();
    })();
    return this.#closePromise;
  }

  #accept(samples: Int16Array, sampleRate: number): void {
    const n = samples.length;
    if (n === 0) return;
    if (this.#float.length !== n) this.#float = new Float32Array(n);
    const f = this.#float;
    for (let i = 0; i < n; i++) f[i] = (samples[i] as number) / 32768;
    this.#waveform.samples = f;
    this.#waveform.sampleRate = sampleRate;
    try {
      this.#stream.acceptWaveform(this.#waveform);
    } catch (err) {
      this.#fail(err);
      return;
    }
    this.#audioSec += n / sampleRate;
    this.#immediate ??= setImmediate(() => {
      this.#immediate = undefined;
      this.#decode();
    });
  }

  /** Decode what is ready and emit interim/final results. */
  #decode(): void {
    if (this.#closed) return;
    try {
      while (this.#rec.isReady(this.#stream)) this.#rec.decode(this.#stream);
      const r = this.#rec.getResult(this.#stream);
      const text = r.text.trim();
      if (text !== '' && !this.#speechStarted) {
        this.#speechStarted = true;
        this.#events.push({ type: 'speech_started', timestamp: this.#segmentStartSec });
      }
      if (text !== '' && text !== this.#lastText) {
        this.#events.push({ type: 'transcript', text, isFinal: false, speechFinal: false });
      }
      this.#lastText = text;
      if (this.#rec.isEndpoint(this.#stream)) this.#endSegment(r, true);
    } catch (err) {
      this.#fail(err);
    }
  }

  /**
   * Emit the segment's final and start a new segment. Without words there is a final only when
   * `emptyFinal` (finalize() promises a final result for the audio so far, even an empty one).
   */
  #endSegment(r: SherpaOnlineResult, speechFinal: boolean, emptyFinal = false): void {
    const text = r.text.trim();
    if (text !== '') {
      const words = wordsFromResult(r, this.#segmentStartSec);
      this.#s.logger.debug({ transcript: text }, 'sherpa: final');
      this.#events.push({ type: 'transcript', text, isFinal: true, speechFinal, ...(words !== undefined ? { words } : {}) });
      const end = words?.at(-1)?.end ?? this.#audioSec;
      this.#events.push({ type: 'utterance_end', timestamp: end });
    } else if (emptyFinal) {
      this.#events.push({ type: 'transcript', text: '', isFinal: true, speechFinal, words: [] });
    }
    this.#rec.reset(this.#stream);
    this.#lastText = '';
    this.#speechStarted = false;
    this.#segmentStartSec = this.#audioSec;
  }

  /** Pad, decode everything and emit a final for the audio so far (turn end or close). */
  #flush(last: boolean): void {
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#immediate = undefined;
    }
    try {
      // The padding is engine input only: word timings and the next segment stay in the caller's
      // audio time (the engine's timestamps are relative to the segment, placed at #segmentStartSec).
      const pad = new Float32Array(Math.round(this.#s.tailPaddingSec * this.#s.sampleRate));
      this.#stream.acceptWaveform({ samples: pad, sampleRate: this.#s.sampleRate });
      if (last) this.#stream.inputFinished();
      while (this.#rec.isReady(this.#stream)) this.#rec.decode(this.#stream);
      this.#endSegment(this.#rec.getResult(this.#stream), false, !last);
    } catch (err) {
      this.#fail(err);
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const error = new ProviderError(this.#s.provider, 'CR_PROVIDER_INTERNAL', `recogniser failed: ${errorMessage(err)}`, {
      retryable: false,
      cause: err,
    });
    this.#s.logger.error({ err: error.message }, 'sherpa: recogniser failed');
    this.#events.push({ type: 'error', error, retryable: false });
    this.#teardown();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#events.push({ type: 'closed' });
    this.#events.close();
  }
}
