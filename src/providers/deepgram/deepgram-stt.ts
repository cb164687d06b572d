/**
 * Deepgram live STT (`@deepgram/sdk`, `/v1/listen`). Mu-law 8 kHz from RTP goes straight through
 * `writeEncoded` (no transcoding); linear PCM through `write`. Interim and final results, speech
 * started, utterance end, KeepAlive while the agent speaks, Finalize at turn end, and our own
 * reconnect policy (see `DeepgramSession`).
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, SttProvider, SttSession, SttSessionOptions } from '../types.ts';
import { DEEPGRAM, sdkConnector, type LiveSocketConnector, type DeepgramListenParams } from './deepgram-connect.ts';
import { DeepgramSession, type ReconnectPolicy } from './deepgram-session.ts';

export interface DeepgramSttOptions {
  readonly apiKey: string;
  /** e.g. 'ws://127.0.0.1:PORT' for a local fake; the SDK's production URL when absent. */
  readonly baseUrl?: string;
  /** Default 'nova-3'. */
  readonly model?: string;
  /** Default true. */
  readonly interimResults?: boolean;
  /** Silence (ms) that ends an utterance with speech_final; false disables. Default 300. */
  readonly endpointingMs?: number | false;
  /** Gap (ms) without words before UtteranceEnd; needs interim results. Default 1000; false disables. */
  readonly utteranceEndMs?: number | false;
  /** SpeechStarted events. Default true. */
  readonly vadEvents?: boolean;
  /** Default false: numbers as words are easier for the turn logic to compare. */
  readonly smartFormat?: boolean;
  /** Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Default 3000. */
  readonly closeTimeoutMs?: number;
  /** Automatic KeepAlive when no audio was written for this long. Deepgram closes idle streams after ~10 s. Default 5000; false disables. */
  readonly autoKeepAliveMs?: number | false;
  /** Default { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000 }. */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Audio held while reconnecting, in milliseconds of audio. Default 5000. */
  readonly backlogMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Replaces the SDK connection (unit tests). */
  readonly connector?: (params: DeepgramListenParams) => LiveSocketConnector;
}

const ENCODINGS: readonly AudioEncoding[] = ['pcm_s16le', 'mulaw', 'alaw'];

export class DeepgramStt implements SttProvider {
  readonly name = 'deepgram';
  readonly encodings = ENCODINGS;
  readonly #o: DeepgramSttOptions;

  constructor(options: DeepgramSttOptions) {
    this.#o = options;
  }

  supportsSampleRate(sampleRate: number): boolean {
    return Number.isInteger(sampleRate) && sampleRate >= 8000 && sampleRate <= 48000;
  }

  async open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession> {
    if (signal?.aborted) throw new AbortedError();
    const o = this.#o;
    const encoding = options.encoding ?? 'pcm_s16le';
    if (!this.supportsSampleRate(options.sampleRate)) {
      throw new ProviderError(DEEPGRAM, 'CR_STT_FORMAT', `unsupported sample rate ${options.sampleRate} (8000..48000 Hz)`, { retryable: false });
    }
    const utteranceEndMs = o.utteranceEndMs === false ? undefined : (o.utteranceEndMs ?? 1000);
    const params: DeepgramListenParams = {
      model: o.model ?? 'nova-3',
      encoding,
      sampleRate: options.sampleRate,
      interimResults: o.interimResults ?? true,
      endpointingMs: o.endpointingMs ?? 300,
      vadEvents: o.vadEvents ?? true,
      smartFormat: o.smartFormat ?? false,
      ...(utteranceEndMs !== undefined ? { utteranceEndMs } : {}),
      ...(options.language !== undefined ? { language: options.language } : {}),
      ...(options.keywords !== undefined ? { keyterms: options.keywords } : {}),
    };
    const connect =
      o.connector?.(params) ??
      sdkConnector(
        { apiKey: o.apiKey, connectTimeoutMs: o.connectTimeoutMs ?? 5000, ...(o.baseUrl !== undefined ? { baseUrl: o.baseUrl } : {}) },
        params,
      );
    const bytesPerMs = (options.sampleRate * (encoding === 'pcm_s16le' ? 2 : 1)) / 1000;
    const session = new DeepgramSession(
      connect,
      {
        encoding,
        sampleRate: options.sampleRate,
        reconnect: { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000, ...o.reconnect },
        backlogBytes: Math.max(1, Math.round((o.backlogMs ?? 5000) * bytesPerMs)),
        autoKeepAliveMs: o.autoKeepAliveMs ?? 5000,
        closeTimeoutMs: o.closeTimeoutMs ?? 3000,
        eventCapacity: 1024,
        clock: o.clock ?? systemClock(),
        logger: (o.logger ?? silentLogger()).child({ provider: 'deepgram' }),
        random: Math.random,
      },
      signal,
    );
    await session.start();
    return session;
  }
}
