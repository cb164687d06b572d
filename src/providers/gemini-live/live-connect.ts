/**
 * One Gemini Live connection attempt through `@google/genai` (`ai.live.connect`), bounded by ONE
 * deadline around the whole of it: the SDK waits forever for `setupComplete`, and also after a
 * refused upgrade (its `onerror` fires, `connect` never settles). On any failure the socket is
 * terminated and the SDK's pending promise is left to be collected.
 */
import { GoogleGenAI, Modality, type LiveConnectConfig, type LiveServerMessage, type Session } from '@google/genai';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { RealtimeSessionOptions } from '../types.ts';
import { LiveSocketFactory } from './live-socket.ts';

export const GEMINI_LIVE = 'gemini-live';

export interface LiveEndpoint {
  readonly apiKey: string;
  /** Host without version, e.g. `https://generativelanguage.googleapis.com` or `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  readonly apiVersion: string;
}

export interface LiveConnectHandlers {
  onMessage(msg: LiveServerMessage): void;
  /** The socket closed after setup completed. */
  onClose(code: number, reason: string): void;
  onMalformed(reason: string): void;
  onSocketError(err: Error): void;
}

/** An open connection: the SDK session to send through, and our socket under it. */
export interface LiveConnection {
  readonly session: Session;
  readonly socket: LiveSocketFactory;
  /**
   * Messages that arrived with or right after `setupComplete` (the SDK delivers them before
   * `connect` returns); the caller handles them once it has installed this connection.
   */
  readonly early: LiveServerMessage[];
}

export interface LiveSetup {
  readonly model: string;
  readonly options: RealtimeSessionOptions;
  readonly voice: string | undefined;
  /** Handle from `sessionResumptionUpdate` to continue a session; undefined starts a new one. */
  readonly resumeHandle: string | undefined;
  /** Sliding-window context compression (lifts the ~15 min audio session limit). */
  readonly compressContext: boolean;
}

/** The LiveConnectConfig for a session's options (the SDK turns it into the `setup` message). */
export function buildLiveConfig(setup: LiveSetup): LiveConnectConfig {
  const o = setup.options;
  const config: LiveConnectConfig = {
    responseModalities: [Modality.AUDIO],
    systemInstruction: o.instructions,
    // Always on, so that a dropped socket can be resumed with the latest handle.
    sessionResumption: setup.resumeHandle === undefined ? {} : { handle: setup.resumeHandle },
  };
  if (o.tools.length > 0) {
    config.tools = [
      {
        functionDeclarations: o.tools.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })),
      },
    ];
  }
  if (setup.voice !== undefined) config.speechConfig = { voiceConfig: { prebuiltVoiceConfig: { voiceName: setup.voice } } };
  if (o.temperature !== undefined) config.temperature = o.temperature;
  if (o.transcription) {
    config.inputAudioTranscription = {};
    config.outputAudioTranscription = {};
  }
  if (o.turnDetection === 'manual') config.realtimeInputConfig = { automaticActivityDetection: { disabled: true } };
  if (setup.compressContext) config.contextWindowCompression = { slidingWindow: {} };
  return config;
}

/** Map a failure before setupComplete to a ProviderError. */
export function classifyLiveConnectError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = errorMessage(err);
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status !== undefined) return ProviderError.fromStatus(GEMINI_LIVE, Number(status), `handshake rejected (${status})`, err);
  return new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_UNAVAILABLE', `connect failed: ${message}`, { retryable: true, cause: err });
}

/** Close codes Gemini uses for a request it will never accept (invalid argument, policy, bad key). */
export function closeIsFinal(code: number): boolean {
  return code === 1007 || code === 1008 || code === 1003;
}

export async function connectLive(
  endpoint: LiveEndpoint,
  setup: LiveSetup,
  handlers: LiveConnectHandlers,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<LiveConnection> {
  if (signal?.aborted) throw new AbortedError();
  let ready = false;
  let settle: ((err: Error) => void) | undefined;
  const early = new Promise<never>((_, reject) => (settle = reject));
  early.catch(() => undefined);
  let lastError: Error | undefined;
  const socket = new LiveSocketFactory({
    onMalformed: (reason) => handlers.onMalformed(reason),
    onError: (err) => {
      lastError = err;
      if (ready) handlers.onSocketError(err);
    },
    onClose: (code, reason) => {
      if (ready) {
        handlers.onClose(code, reason);
        return;
      }
      if (lastError !== undefined) settle?.(classifyLiveConnectError(lastError));
      else if (closeIsFinal(code)) {
        settle?.(new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_REJECTED', `setup refused (${code} ${reason})`, { retryable: false }));
      } else {
        settle?.(new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_UNAVAILABLE', `socket closed during setup (${code} ${reason})`, { retryable: true }));
      }
    },
  });
  // Explicit backend and base URL: otherwise the SDK consults GOOGLE_* variables, and only the
  // config loader may read the environment. One client per attempt: the factory is per socket.
  const ai = new GoogleGenAI({
    apiKey: endpoint.apiKey,
    vertexai: false,
    apiVersion: endpoint.apiVersion,
    httpOptions: { baseUrl: endpoint.baseUrl, apiVersion: endpoint.apiVersion },
  });
  const live = ai.live as unknown as { webSocketFactory?: unknown };
  if (typeof (live.webSocketFactory as { create?: unknown } | undefined)?.create !== 'function') {
    throw new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_INCOMPATIBLE', '@google/genai no longer has live.webSocketFactory; pin the tested version', { retryable: false });
  }
  live.webSocketFactory = socket;

  const backlog: LiveServerMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const connecting = ai.live.connect({
    model: setup.model,
    config: buildLiveConfig(setup),
    callbacks: {
      onmessage: (msg: LiveServerMessage) => {
        if (ready) handlers.onMessage(msg);
        else backlog.push(msg);
      },
      onerror: () => undefined,
      onclose: () => undefined,
    },
  });
  connecting.catch(() => undefined);
  try {
    const session = await Promise.race([
      connecting,
      early,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const waiting = socket.readyState === 1 ? 'setupComplete' : 'the socket to open';
          reject(new ProviderError(GEMINI_LIVE, 'CR_PROVIDER_TIMEOUT', `connect timed out waiting for ${waiting}`, { retryable: true }));
        }, timeoutMs);
        onAbort = () => reject(new AbortedError());
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    ready = true;
    return { session, socket, early: backlog };
  } catch (err) {
    socket.terminate();
    throw err instanceof AbortedError ? err : classifyLiveConnectError(err);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
