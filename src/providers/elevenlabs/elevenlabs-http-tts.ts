/**
 * ElevenLabs HTTP streaming TTS through `@elevenlabs/elevenlabs-js`:
 * `POST /v1/text-to-speech/{voice}/stream?output_format=...` (raw audio), or
 * `/stream/with-timestamps` (NDJSON audio + character alignment) when `alignment` is on.
 * The whole text is one request: use `ElevenLabsWsTts` when text should stream in as the model
 * writes it. The SDK's own retries are off (`maxRetries: 0`): retry is a wrapper's decision.
 */
import { ElevenLabsClient, type ElevenLabs } from '@elevenlabs/elevenlabs-js';
import { errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { alignmentFromSeconds } from './alignment.ts';
import { toProviderError } from './elevenlabs-errors.ts';
import { filteringFetch } from './ndjson-line-filter.ts';
import { ELEVENLABS, ELEVENLABS_ENCODINGS, ELEVENLABS_RATES, outputFormatFor } from './output-format.ts';
import { PcmAssembler } from './pcm-assembler.ts';
import { collectText } from './text-input.ts';

export interface ElevenLabsVoiceSettings {
  readonly stability?: number;
  readonly similarityBoost?: number;
  readonly style?: number;
  readonly useSpeakerBoost?: boolean;
  readonly speed?: number;
}

export interface ElevenLabsHttpTtsOptions {
  readonly apiKey: string;
  /** e.g. 'http://127.0.0.1:PORT' for a local fake. */
  readonly baseUrl?: string;
  /** Voice used when the request names none. */
  readonly voiceId: string;
  /** Default 'eleven_flash_v2_5'. */
  readonly modelId?: string;
  readonly voiceSettings?: ElevenLabsVoiceSettings;
  /** 0-4; higher trades quality for latency. */
  readonly optimizeStreamingLatency?: number;
  /** Use `/stream/with-timestamps` and yield 'alignment' chunks. Default false. */
  readonly alignment?: boolean;
  /** Deadline for the response headers, ms. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Deadline from the request to the first audio bytes, ms. Default 10 000. */
  readonly firstAudioTimeoutMs?: number;
  readonly logger?: Logger;
}

export class ElevenLabsHttpTts implements TtsProvider {
  readonly name = 'elevenlabs';
  readonly encodings: readonly AudioEncoding[] = ELEVENLABS_ENCODINGS;
  readonly sampleRates: readonly number[] = ELEVENLABS_RATES;
  readonly #o: ElevenLabsHttpTtsOptions;
  readonly #logger: Logger;
  #client: ElevenLabsClient | undefined;

  constructor(options: ElevenLabsHttpTtsOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: ELEVENLABS });
  }

  /** Created on first use: no work in constructors. */
  get #sdk(): ElevenLabsClient {
    this.#client ??= new ElevenLabsClient({
      apiKey: this.#o.apiKey,
      maxRetries: 0,
      fetch: filteringFetch(this.#logger),
      ...(this.#o.baseUrl !== undefined ? { baseUrl: this.#o.baseUrl } : {}),
    });
    return this.#client;
  }

  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    if (signal?.aborted) return;
    const format = outputFormatFor(request.encoding, request.sampleRate);
    let text: string | undefined;
    try {
      text = await collectText(request.text, signal);
    } catch (err) {
      throw new ProviderError(ELEVENLABS, 'CR_PROVIDER_INPUT', `text stream failed: ${errorMessage(err)}`, { retryable: false, cause: err });
    }
    if (text === undefined || signal?.aborted) return;
    if (text.trim() === '') {
      yield { type: 'done' };
      return;
    }
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const firstAudioTimer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.#o.firstAudioTimeoutMs ?? 10_000);
    const pcm = request.encoding === 'pcm_s16le' ? new PcmAssembler() : undefined;
    const audio = (bytes: Uint8Array): TtsChunk | undefined => {
      if (pcm === undefined) return bytes.byteLength > 0 ? { type: 'audio', encoding: request.encoding, sampleRate: request.sampleRate, bytes } : undefined;
      const samples = pcm.push(bytes);
      return samples.length > 0 ? { type: 'audio', encoding: 'pcm_s16le', sampleRate: request.sampleRate, pcm: samples } : undefined;
    };
    try {
      const body = {
        text,
        modelId: this.#o.modelId ?? 'eleven_flash_v2_5',
        outputFormat: format as ElevenLabs.TextToSpeechStreamRequestOutputFormat,
        ...(this.#o.voiceSettings !== undefined ? { voiceSettings: this.#o.voiceSettings } : {}),
        ...(this.#o.optimizeStreamingLatency !== undefined ? { optimizeStreamingLatency: this.#o.optimizeStreamingLatency } : {}),
      };
      const requestOptions = {
        abortSignal: ac.signal,
        maxRetries: 0,
        timeoutInSeconds: (this.#o.requestTimeoutMs ?? 10_000) / 1000,
      };
      const voice = request.voice ?? this.#o.voiceId;
      if (this.#o.alignment === true) {
        const stream = await this.#sdk.textToSpeech.streamWithTimestamps(
          voice,
          body as ElevenLabs.StreamTextToSpeechWithTimestampsRequest,
          requestOptions,
        );
        for await (const part of stream) {
          clearTimeout(firstAudioTimer);
          if (signal?.aborted) return;
          const chunk = audio(Buffer.from(part.audioBase64, 'base64'));
          if (chunk !== undefined) yield chunk;
          const alignment = alignmentFromSeconds(part.alignment);
          if (alignment !== undefined && !signal?.aborted) yield { type: 'alignment', alignment };
        }
      } else {
        const stream = await this.#sdk.textToSpeech.stream(voice, body, requestOptions);
        for await (const bytes of stream) {
          clearTimeout(firstAudioTimer);
          if (signal?.aborted) return;
          const chunk = audio(bytes);
          if (chunk !== undefined) yield chunk;
        }
      }
      if (signal?.aborted) return;
      if (pcm?.pending === true) this.#logger.warn('elevenlabs: PCM stream ended on an odd byte');
      yield { type: 'done' };
    } catch (err) {
      if (signal?.aborted) return;
      if (timedOut) {
        throw new ProviderError(ELEVENLABS, 'CR_PROVIDER_TIMEOUT', 'no audio before the first-audio deadline', { retryable: true, cause: err });
      }
      const e = toProviderError(err);
      this.#logger.warn({ code: e.code, status: e.status, retryable: e.retryable }, 'elevenlabs: synthesis failed');
      throw e;
    } finally {
      clearTimeout(firstAudioTimer);
      signal?.removeEventListener('abort', onAbort);
      // Ends the response if the consumer stopped early, so the connection is not left half-read.
      ac.abort();
    }
  }
}
