/**
 * Gemini Live speech-to-speech as a {@link RealtimeProvider}, on `@google/genai`'s live client
 * (`ai.live.connect`, apiVersion v1beta). Linear PCM only: 16 kHz in is native, and the service
 * resamples other input rates named in the mime type (`audio/pcm;rate=8000`); the model speaks
 * 24 kHz PCM. No G.711: the call layer decodes and resamples (`src/media`). Sessions survive
 * `goAway` and dropped sockets through session resumption (see `GeminiLiveSession`).
 *
 * Protocol gaps, handled here and visible in `capabilities`: there is no cancel message
 * (`cancelResponse` drops the rest of the model's turn locally; the server stops when the caller's
 * speech interrupts it) and no truncate (`truncate` sends nothing).
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { RealtimeAudioFormat, RealtimeCapabilities, RealtimeProvider, RealtimeSession, RealtimeSessionOptions } from '../types.ts';
import { GeminiLiveSession, type ReconnectPolicy } from './gemini-live-session.ts';
import { GEMINI_LIVE } from './live-connect.ts';

const INPUT_RATES = [16000, 8000, 24000, 48000] as const;

export const GEMINI_LIVE_CAPABILITIES: RealtimeCapabilities = {
  inputFormats: INPUT_RATES.map((sampleRate): RealtimeAudioFormat => ({ encoding: 'pcm_s16le', sampleRate })),
  outputFormats: [{ encoding: 'pcm_s16le', sampleRate: 24000 }],
  turnDetection: ['server_vad', 'manual'],
  truncate: false,
  serverCancel: false,
  resumable: true,
};

/** Options for {@link GeminiLive}. */
export interface GeminiLiveOptions {
  readonly apiKey: string;
  /** Host without version; default `https://generativelanguage.googleapis.com` (http:// dials ws://). */
  readonly baseUrl?: string;
  /** Default `v1beta`. */
  readonly apiVersion?: string;
  /** Default `gemini-live-2.5-flash-preview`; `RealtimeSessionOptions.model` overrides it. */
  readonly model?: string;
  /** Prebuilt voice name (e.g. `Puck`); the service default when absent. */
  readonly voice?: string;
  /** Sliding-window context compression, lifting the ~15 min audio session limit. Default true. */
  readonly compressContext?: boolean;
  /** One deadline per connection attempt (open + setupComplete). Default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Default 2000 ms. */
  readonly closeTimeoutMs?: number;
  /** Default { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000 }. The first attempt is immediate. */
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** Caller audio held while the socket is not writable or being replaced, in ms. Default 3000. */
  readonly outboxMs?: number;
  /** Default 256 KiB. */
  readonly socketHighWaterBytes?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export class GeminiLive implements RealtimeProvider {
  readonly name = GEMINI_LIVE;
  readonly capabilities = GEMINI_LIVE_CAPABILITIES;
  readonly #o: GeminiLiveOptions;
  readonly #logger: Logger;

  constructor(options: GeminiLiveOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: GEMINI_LIVE });
  }

  async open(options: RealtimeSessionOptions, signal?: AbortSignal): Promise<RealtimeSession> {
    if (signal?.aborted) throw new AbortedError();
    checkOptions(options);
    const o = this.#o;
    const apiVersion = o.apiVersion ?? 'v1beta';
    const session = new GeminiLiveSession(
      {
        options,
        endpoint: { apiKey: o.apiKey, baseUrl: o.baseUrl ?? 'https://generativelanguage.googleapis.com', apiVersion },
        model: options.model ?? o.model ?? 'gemini-live-2.5-flash-preview',
        voice: options.voice ?? o.voice,
        compressContext: o.compressContext ?? true,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
        closeTimeoutMs: o.closeTimeoutMs ?? 2000,
        reconnect: { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000, ...o.reconnect },
        outboxBytes: Math.max(1, Math.round(((o.outboxMs ?? 3000) * options.inputFormat.sampleRate * 2) / 1000)),
        socketHighWaterBytes: o.socketHighWaterBytes ?? 256 * 1024,
        maxAppendBytes: 64 * 1024,
        drainIntervalMs: 20,
        eventCapacity: 4096,
        clock: o.clock ?? systemClock(),
        logger: this.#logger,
        random: Math.random,
      },
      signal,
    );
    await session.start();
    return session;
  }
}

function checkOptions(options: RealtimeSessionOptions): void {
  const fits = (f: RealtimeAudioFormat, list: readonly RealtimeAudioFormat[]): boolean =>
    list.some((x) => x.encoding === f.encoding && x.sampleRate === f.sampleRate);
  if (!fits(options.inputFormat, GEMINI_LIVE_CAPABILITIES.inputFormats) || !fits(options.outputFormat, GEMINI_LIVE_CAPABILITIES.outputFormats)) {
    const bad = fits(options.inputFormat, GEMINI_LIVE_CAPABILITIES.inputFormats) ? options.outputFormat : options.inputFormat;
    throw new ProviderError(
      GEMINI_LIVE,
      'CR_REALTIME_FORMAT',
      `no native format ${bad.encoding}@${bad.sampleRate} (in: pcm_s16le at 8/16/24/48 kHz, out: pcm_s16le@24000; convert in the call layer)`,
      { retryable: false },
    );
  }
  if (!GEMINI_LIVE_CAPABILITIES.turnDetection.includes(options.turnDetection)) {
    throw new ProviderError(GEMINI_LIVE, 'CR_REALTIME_UNSUPPORTED', `turn detection '${options.turnDetection}' is not offered by Gemini Live (server_vad, manual)`, { retryable: false });
  }
}
