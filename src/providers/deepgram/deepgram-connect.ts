/**
 * Opens one Deepgram live socket through the official SDK and turns every way that can fail into
 * a typed `ProviderError`. The SDK's own reconnect loop is switched off (`reconnectAttempts: 0`,
 * `shouldReconnect: () => false`): its default is 30 silent reconnects, which on a call means
 * minutes of lost speech with nobody told. The session owns the reconnect policy instead.
 */
import { DeepgramClient } from '@deepgram/sdk';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding } from '../types.ts';

export const DEEPGRAM = 'deepgram';

/** The part of the SDK's listen socket the session uses. */
export interface LiveSocket {
  sendMedia(data: ArrayBufferView): void;
  sendKeepAlive(msg: { type: 'KeepAlive' }): void;
  sendFinalize(msg: { type: 'Finalize' }): void;
  sendCloseStream(msg: { type: 'CloseStream' }): void;
  close(): void;
  readonly readyState: number;
}

export interface LiveSocketHandlers {
  onMessage(msg: unknown): void;
  onClose(code: number, reason: string): void;
  onError(err: Error): void;
}

/** Query parameters of `/v1/listen` that the adapter sets. */
export interface DeepgramListenParams {
  readonly model: string;
  readonly encoding: AudioEncoding;
  readonly sampleRate: number;
  readonly language?: string;
  readonly interimResults: boolean;
  /** Milliseconds of silence that end an utterance (speech_final), or false to disable. */
  readonly endpointingMs: number | false;
  /** Milliseconds without words before an UtteranceEnd; undefined to not ask for it. */
  readonly utteranceEndMs?: number;
  readonly vadEvents: boolean;
  readonly smartFormat: boolean;
  readonly keyterms?: readonly string[];
}

export interface DeepgramConnectOptions {
  readonly apiKey: string;
  readonly baseUrl?: string;
  readonly connectTimeoutMs: number;
}

export type LiveSocketConnector = (handlers: LiveSocketHandlers, signal?: AbortSignal) => Promise<LiveSocket>;

const OPEN = 1;
const ENCODINGS: Record<AudioEncoding, string> = { pcm_s16le: 'linear16', mulaw: 'mulaw', alaw: 'alaw' };

/** Map a handshake or transport failure to a ProviderError (401/403 never retried). */
export function classifyConnectError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : errorMessage(err);
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status !== undefined) return ProviderError.fromStatus(DEEPGRAM, Number(status), `handshake rejected (${status})`, err);
  const sdkStatus = typeof err === 'object' && err !== null && 'statusCode' in err ? err.statusCode : undefined;
  if (typeof sdkStatus === 'number') return ProviderError.fromStatus(DEEPGRAM, sdkStatus, message, err);
  if (message === 'TIMEOUT') {
    return new ProviderError(DEEPGRAM, 'CR_PROVIDER_TIMEOUT', 'connect timed out', { retryable: true, cause: err });
  }
  return new ProviderError(DEEPGRAM, 'CR_PROVIDER_UNAVAILABLE', `connect failed: ${message}`, { retryable: true, cause: err });
}

/** A connector that opens `/v1/listen` with the given parameters through `@deepgram/sdk`. */
export function sdkConnector(options: DeepgramConnectOptions, params: DeepgramListenParams): LiveSocketConnector {
  const client = new DeepgramClient({
    apiKey: options.apiKey,
    ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
  });
  // Booleans are typed as the strings "true"/"false" by the SDK.
  const args = {
    model: params.model,
    encoding: ENCODINGS[params.encoding],
    sample_rate: params.sampleRate,
    channels: 1,
    interim_results: params.interimResults ? 'true' : 'false',
    endpointing: params.endpointingMs === false ? false : params.endpointingMs,
    vad_events: params.vadEvents ? 'true' : 'false',
    smart_format: params.smartFormat ? 'true' : 'false',
    ...(params.utteranceEndMs !== undefined ? { utterance_end_ms: params.utteranceEndMs } : {}),
    ...(params.language !== undefined ? { language: params.language } : {}),
    ...(params.keyterms !== undefined && params.keyterms.length > 0 ? { keyterm: [...params.keyterms] } : {}),
    reconnectAttempts: 0,
    shouldReconnect: () => false,
    // The SDK's timer is a backstop; ours below decides first.
    connectionTimeoutInSeconds: Math.ceil(options.connectTimeoutMs / 1000) + 1,
  };

  return async (handlers, signal) => {
    if (signal?.aborted) throw new AbortedError();
    let socket: Awaited<ReturnType<typeof client.listen.v1.connect>>;
    try {
      socket = await client.listen.v1.connect(args);
    } catch (err) {
      throw classifyConnectError(err);
    }
    let opened = false;
    socket.on('message', (m: unknown) => handlers.onMessage(m));
    socket.on('close', (e: { code?: number; reason?: string }) => {
      if (opened) handlers.onClose(e.code ?? 1006, e.reason ?? '');
    });
    socket.on('error', (e: Error) => {
      if (opened) handlers.onError(e);
    });
    socket.connect();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        socket.waitForOpen(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('TIMEOUT')), options.connectTimeoutMs);
          onAbort = () => reject(new AbortedError());
          signal?.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } catch (err) {
      socket.close();
      if (err instanceof AbortedError) throw err;
      throw classifyConnectError(err);
    } finally {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
    if (socket.readyState !== OPEN) {
      socket.close();
      throw classifyConnectError(new Error('socket not open after open event'));
    }
    opened = true;
    return socket;
  };
}
