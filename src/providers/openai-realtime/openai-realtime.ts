/**
 * OpenAI Realtime (GA) speech-to-speech as a {@link RealtimeProvider}, on the official `openai` SDK's
 * WebSocket client (`openai/realtime/ws`). G.711 from a SIP call goes straight through as
 * `audio/pcmu`/`audio/pcma` at 8 kHz, both ways; linear PCM only at 24 kHz (GA has no other rate).
 * The adapter never resamples. No session resumption exists: a dropped socket ends the session with
 * a retryable error and the call layer decides whether to open another.
 */
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { systemClock, type Clock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import type { RealtimeCapabilities, RealtimeProvider, RealtimeSession, RealtimeSessionOptions } from '../types.ts';
import { classifySocketError } from './connect-errors.ts';
import { OpenAiRealtimeSession } from './openai-realtime-session.ts';
import { buildGaSession, bytesPerMs, OPENAI_REALTIME, OPENAI_REALTIME_CAPABILITIES } from './session-config.ts';

/** Options for {@link OpenAiRealtime}. */
export interface OpenAiRealtimeOptions {
  readonly apiKey: string;
  /** API root ending in `/v1`; default `https://api.openai.com/v1`. The SDK always dials `wss://`. */
  readonly baseUrl?: string;
  /** Default `gpt-realtime`; `RealtimeSessionOptions.model` overrides it per session. */
  readonly model?: string;
  /** Default `marin`. */
  readonly voice?: string;
  /** Model for caller transcripts when `transcription` is on; default `gpt-4o-mini-transcribe`. */
  readonly transcriptionModel?: string;
  /** One deadline for the socket to open and the session to be configured; default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Default 2000 ms. */
  readonly closeTimeoutMs?: number;
  /** Caller audio held while the socket is not writable, in ms of audio; default 2000. */
  readonly outboxMs?: number;
  /** Socket send buffer above which audio waits (and, past `outboxMs`, drops); default 256 KiB. */
  readonly socketHighWaterBytes?: number;
  /** Certificates to trust instead of the system store (a test CA, a TLS-terminating proxy). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export class OpenAiRealtime implements RealtimeProvider {
  readonly name = OPENAI_REALTIME;
  readonly capabilities: RealtimeCapabilities = OPENAI_REALTIME_CAPABILITIES;
  readonly #o: OpenAiRealtimeOptions;
  readonly #client: OpenAI;
  readonly #logger: Logger;

  constructor(options: OpenAiRealtimeOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: OPENAI_REALTIME });
    // Every option explicit: left undefined the SDK reads OPENAI_* variables, and only the config
    // loader may look at the environment.
    this.#client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? 'https://api.openai.com/v1',
      organization: null,
      project: null,
      webhookSecret: null,
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async open(options: RealtimeSessionOptions, signal?: AbortSignal): Promise<RealtimeSession> {
    if (signal?.aborted) throw new AbortedError();
    const o = this.#o;
    const session = buildGaSession(options, {
      voice: o.voice ?? 'marin',
      transcriptionModel: o.transcriptionModel ?? 'gpt-4o-mini-transcribe',
    });
    if (options.temperature !== undefined) {
      this.#logger.warn({ temperature: options.temperature }, 'openai-realtime: the GA session has no temperature; ignored');
    }
    let rt: OpenAIRealtimeWS;
    try {
      rt = await OpenAIRealtimeWS.create(this.#client, {
        model: options.model ?? o.model ?? 'gpt-realtime',
        options: o.ca === undefined ? {} : { ca: o.ca as string | Buffer | Array<string | Buffer> },
      });
    } catch (err) {
      throw classifySocketError(err);
    }
    const result = new OpenAiRealtimeSession(
      rt,
      {
        options,
        session,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
        closeTimeoutMs: o.closeTimeoutMs ?? 2000,
        outboxBytes: Math.max(1, Math.round((o.outboxMs ?? 2000) * bytesPerMs(options.inputFormat))),
        socketHighWaterBytes: o.socketHighWaterBytes ?? 256 * 1024,
        maxAppendBytes: 64 * 1024,
        drainIntervalMs: 20,
        eventCapacity: 4096,
        clock: o.clock ?? systemClock(),
        logger: this.#logger,
      },
      signal,
    );
    await result.start();
    return result;
  }
}
