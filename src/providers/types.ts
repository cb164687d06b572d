/**
 * Provider interfaces the room and call layers consume. Vendor adapters under `src/providers/<vendor>/`
 * implement these and import only `src/core` and this file. Retry, timeout, fallback and metrics are
 * wrappers around these interfaces (`src/providers/wrappers/`), never base-class logic.
 */
import type { AudioFrame } from '../core/audio-frame.ts';

// ---------------------------------------------------------------------------------------------
// LLM
// ---------------------------------------------------------------------------------------------

/** JSON Schema object (draft 2020-12 subset the vendors accept). */
export type JsonSchema = { readonly [key: string]: unknown };

/** What the model is offered: a function tool. */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** JSON Schema for the arguments object. */
  readonly parameters: JsonSchema;
}

/** A tool call the model asked for. `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: string;
}

export type ChatMessage =
  | { readonly role: 'system'; readonly content: string }
  | { readonly role: 'user'; readonly content: string; readonly name?: string }
  | { readonly role: 'assistant'; readonly content: string; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly toolCallId: string; readonly name: string; readonly content: string };

export interface LlmRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDefinition[];
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Token budget for model "thinking", where the vendor supports it. */
  readonly thinkingBudget?: number;
  /** Vendor model name; adapters have a default. */
  readonly model?: string;
}

/**
 * Streamed output of one model turn. Tool calls arrive whole (adapters assemble argument fragments),
 * `done` comes last exactly once.
 */
export type LlmEvent =
  | { readonly type: 'text'; readonly delta: string }
  | { readonly type: 'thinking'; readonly delta: string }
  | { readonly type: 'tool_call'; readonly call: ToolCall }
  | {
      readonly type: 'done';
      readonly finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'other';
      readonly usage?: { readonly inputTokens?: number; readonly outputTokens?: number };
    };

export interface LlmProvider {
  readonly name: string;
  /** Stream one model turn. Aborting `signal` stops the request; errors are `ProviderError`s. */
  stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent>;
}

// ---------------------------------------------------------------------------------------------
// STT
// ---------------------------------------------------------------------------------------------

export interface WordTiming {
  readonly word: string;
  /** Seconds from the start of the session's audio. */
  readonly start: number;
  readonly end: number;
  readonly confidence?: number;
}

/** Audio encodings a session can take without conversion. */
export type AudioEncoding = 'pcm_s16le' | 'mulaw' | 'alaw';

export interface SttSessionOptions {
  /** Sample rate of the audio that will be written. */
  readonly sampleRate: number;
  /** Encoding of the frames given to `writeEncoded` (default pcm_s16le via `write`). */
  readonly encoding?: AudioEncoding;
  readonly language?: string;
  /** Words to boost, where the engine supports it. */
  readonly keywords?: readonly string[];
}

export type SttEvent =
  | { readonly type: 'speech_started'; readonly timestamp: number }
  | {
      readonly type: 'transcript';
      readonly text: string;
      readonly isFinal: boolean;
      /** The engine considers the utterance complete (endpoint). */
      readonly speechFinal: boolean;
      readonly words?: readonly WordTiming[];
      readonly confidence?: number;
    }
  | { readonly type: 'utterance_end'; readonly timestamp: number }
  | { readonly type: 'error'; readonly error: Error; readonly retryable: boolean }
  | { readonly type: 'closed' };

export interface SttSession {
  /** Linear PCM frames at the session's sample rate. Synchronous: called on the media path. */
  write(frame: AudioFrame): void;
  /** Already-encoded audio (e.g. mu-law straight from RTP) when the session was opened with that encoding. */
  writeEncoded(bytes: Uint8Array): void;
  /** Keep the stream alive while no audio flows (e.g. while the agent speaks). */
  keepAlive(): void;
  /** Ask for final results for the audio so far (turn end). */
  finalize(): void;
  /** Events until the session ends. */
  events(): AsyncIterable<SttEvent>;
  /** End the stream, flushing pending results. */
  close(): Promise<void>;
}

export interface SttProvider {
  readonly name: string;
  /** Whether the engine gives usable results at this sample rate (pocketsphinx: wideband only). */
  supportsSampleRate(sampleRate: number): boolean;
  /** Encodings `writeEncoded` accepts. */
  readonly encodings: readonly AudioEncoding[];
  open(options: SttSessionOptions, signal?: AbortSignal): Promise<SttSession>;
}

// ---------------------------------------------------------------------------------------------
// TTS
// ---------------------------------------------------------------------------------------------

export interface TtsRequest {
  /** Text as the model writes it; adapters may start speaking before it ends. */
  readonly text: AsyncIterable<string>;
  readonly sampleRate: number;
  /** 'mulaw' lets a SIP call send vendor mu-law without transcoding. */
  readonly encoding: AudioEncoding;
  readonly voice?: string;
}

export interface TtsAlignment {
  readonly chars: readonly string[];
  /** Milliseconds from the start of the utterance. */
  readonly startMs: readonly number[];
  readonly durationMs: readonly number[];
}

/** A chunk of synthesized audio. `audio` holds samples (pcm_s16le) or code words (mulaw/alaw). */
export type TtsChunk =
  | {
      readonly type: 'audio';
      readonly encoding: AudioEncoding;
      readonly sampleRate: number;
      readonly pcm?: Int16Array;
      readonly bytes?: Uint8Array;
    }
  | { readonly type: 'alignment'; readonly alignment: TtsAlignment }
  | { readonly type: 'done' };

export interface TtsProvider {
  readonly name: string;
  readonly encodings: readonly AudioEncoding[];
  readonly sampleRates: readonly number[];
  /** Synthesize; aborting `signal` stops mid-utterance and ends the iterable. */
  synthesize(request: TtsRequest, signal?: AbortSignal): AsyncIterable<TtsChunk>;
}

// ---------------------------------------------------------------------------------------------
// Realtime speech-to-speech
// ---------------------------------------------------------------------------------------------

// A type-only import (erased at run time); kept with the section that uses it.
import type { ProviderError } from './provider-error.ts';

/** One audio format on the wire: encoding and sample rate (always mono). */
export interface RealtimeAudioFormat {
  readonly encoding: AudioEncoding;
  readonly sampleRate: number;
}

/**
 * Who decides that the caller's turn ended. 'server_vad' and 'semantic_vad' are the model's own
 * detectors (it also starts answering by itself); 'manual' means the gateway's VAD decides and calls
 * `commit()` then `createResponse()`.
 */
export type RealtimeTurnDetection = 'server_vad' | 'semantic_vad' | 'manual';

export interface RealtimeSessionOptions {
  /** System instructions for the whole session. */
  readonly instructions: string;
  /** Vendor voice name; the adapter's default when absent. */
  readonly voice?: string;
  /** Functions the model may call; `tool_call` events ask the room to run them. */
  readonly tools: readonly ToolDefinition[];
  /** Format of the bytes given to `appendAudio`; must be one of the provider's `inputFormats`. */
  readonly inputFormat: RealtimeAudioFormat;
  /** Format of `audio` events; must be one of the provider's `outputFormats`. */
  readonly outputFormat: RealtimeAudioFormat;
  readonly turnDetection: RealtimeTurnDetection;
  /** Transcripts of the caller's and the model's speech as `transcript` events. */
  readonly transcription: boolean;
  /** Vendor model name; adapters have a default. */
  readonly model?: string;
  /** Where the vendor has one (Gemini); an adapter whose protocol has none says so in its docs. */
  readonly temperature?: number;
}

/**
 * What a provider can do, so the call layer chooses formats before opening (adapters never resample:
 * the call layer converts with `src/media/resample` and `src/media/g711` when no native format fits).
 */
export interface RealtimeCapabilities {
  /** Formats `appendAudio` takes without conversion, the vendor's preferred one first. */
  readonly inputFormats: readonly RealtimeAudioFormat[];
  /** Formats the model can speak in, the vendor's preferred one first. */
  readonly outputFormats: readonly RealtimeAudioFormat[];
  readonly turnDetection: readonly RealtimeTurnDetection[];
  /** `truncate()` tells the model what was actually heard (OpenAI); false: it is a documented no-op. */
  readonly truncate: boolean;
  /** `cancelResponse()` stops generation on the server; false: it only stops delivery of the rest. */
  readonly serverCancel: boolean;
  /** A dropped socket is re-opened and the conversation resumed (`reconnected` event). */
  readonly resumable: boolean;
}

export interface RealtimeProvider {
  readonly name: string;
  readonly capabilities: RealtimeCapabilities;
  /**
   * Open one session (one call). Resolves once the vendor accepted the configuration; rejects with a
   * typed `ProviderError` (CR_PROVIDER_AUTH 401/403, CR_PROVIDER_TIMEOUT, CR_REALTIME_FORMAT...) or
   * `AbortedError`. Aborting `signal` later closes the session.
   */
  open(options: RealtimeSessionOptions, signal?: AbortSignal): Promise<RealtimeSession>;
}

/** Why a response ended. 'interrupted': the caller spoke over it (server VAD) and the vendor cut it. */
export type RealtimeResponseStatus = 'completed' | 'cancelled' | 'interrupted' | 'incomplete' | 'failed';

/**
 * Events of one session, in the order the vendor sent them. `closed` comes last, exactly once.
 * `itemId` names the model's output item (what `truncate` takes); `responseId` one model turn.
 * Vendors without ids (Gemini) get ids the adapter makes up, stable within the session.
 */
export type RealtimeEvent =
  | {
      readonly type: 'audio';
      /** Encoded as `format` (samples little-endian for pcm_s16le). Owned by the receiver. */
      readonly bytes: Uint8Array;
      readonly format: RealtimeAudioFormat;
      readonly itemId: string;
      readonly responseId: string;
    }
  | {
      readonly type: 'transcript';
      readonly role: 'user' | 'assistant';
      /** A delta when `final` is false; the whole utterance when true (where the vendor sends one). */
      readonly text: string;
      readonly final: boolean;
      readonly itemId?: string;
    }
  /** Server VAD heard the caller start (barge-in cue). `audioMs`: offset into the audio appended this session. */
  | { readonly type: 'speech_started'; readonly audioMs?: number; readonly itemId?: string }
  | { readonly type: 'speech_stopped'; readonly audioMs?: number; readonly itemId?: string }
  /** The model asks for a tool; answer with `sendToolResult(callId, name, output)`. */
  | {
      readonly type: 'tool_call';
      readonly callId: string;
      readonly name: string;
      /** Raw JSON text as the model wrote it (Gemini's args object is serialized). */
      readonly arguments: string;
      readonly responseId?: string;
    }
  /** Calls the model withdrew (Gemini `toolCallCancellation`, or an OpenAI response cancelled before they were answered): do not answer them. */
  | { readonly type: 'tool_call_cancelled'; readonly callIds: readonly string[] }
  | { readonly type: 'response_done'; readonly responseId: string; readonly status: RealtimeResponseStatus }
  /** The vendor cut the model's turn because the caller spoke (Gemini `interrupted`): stop playout now. */
  | { readonly type: 'interrupted'; readonly responseId?: string }
  /**
   * A problem. `fatal: false` — the session goes on (a rejected client event, a failed tool
   * response); `fatal: true` — `closed` follows. `retryable` says whether a new session may work.
   */
  | { readonly type: 'error'; readonly error: ProviderError; readonly retryable: boolean; readonly fatal: boolean }
  /** The socket was replaced (Gemini goAway or drop, resumed with its handle); audio appended meanwhile was buffered. */
  | { readonly type: 'reconnected'; readonly attempt: number; readonly resumed: boolean; readonly droppedAudioBytes: number }
  | { readonly type: 'closed'; readonly reason: 'client' | 'server' | 'error' | 'aborted' };

/**
 * One entry of the conversation so far, given to a session that starts without it (`addHistory`): the
 * caller's and the agent's words, and notes of the gateway's own (a tool's outcome), as text.
 */
export interface RealtimeHistoryItem {
  readonly role: 'user' | 'assistant' | 'note';
  readonly text: string;
}

/** Counters the call layer may export as metrics. */
export interface RealtimeSessionStats {
  /** Bytes given to `appendAudio` that reached the socket. */
  readonly sentAudioBytes: number;
  /** Bytes held because the socket was not writable (backpressure or reconnecting). */
  readonly bufferedAudioBytes: number;
  /** Bytes discarded, oldest first, because that buffer was full. */
  readonly droppedAudioBytes: number;
}

export interface RealtimeSession {
  /** The formats the session was opened with. */
  readonly inputFormat: RealtimeAudioFormat;
  readonly outputFormat: RealtimeAudioFormat;
  /**
   * Caller audio in `inputFormat`; any length (a 20 ms frame is typical). Synchronous and never
   * throws: the bytes are copied, sent when the socket is writable, otherwise buffered up to a bound
   * (drop-oldest, counted in `stats`). Ignored after close.
   */
  appendAudio(bytes: Uint8Array): void;
  /** Manual turns: the caller's turn ended; the audio since the last commit is one user message. */
  commit(): void;
  /** Ask the model to speak now (after `commit()`, or to greet at call start). */
  createResponse(): void;
  /**
   * The result of a `tool_call`. The adapter asks the model to continue as the protocol needs it
   * (OpenAI: one `response.create` once every call of the response is answered and the response is
   * done). Results for unknown or withdrawn calls are dropped with a warning.
   */
  sendToolResult(callId: string, name: string, output: string): void;
  /**
   * A user message in text (the caller's keypad entry, worded for the model), added to the conversation
   * and answered: at once, or when the answer in progress is done (OpenAI: one response at a time); on
   * Gemini client content interrupts the model's current turn.
   */
  sendText(text: string): void;
  /**
   * The conversation so far, for a session opened after the vendor's context was lost (a reopen after a
   * drop): added in order as items the model reads, not answered. OpenAI: user, assistant and system
   * messages; Gemini: user and model turns (notes as user text), `turnComplete: false`.
   */
  addHistory(items: readonly RealtimeHistoryItem[]): void;
  /** Stop the model's current answer (barge-in). Safe when nothing is playing. */
  cancelResponse(): void;
  /** Tell the model the caller heard only the first `audioEndMs` of output item `itemId`. */
  truncate(itemId: string, audioEndMs: number): void;
  readonly stats: RealtimeSessionStats;
  /** Events until the session ends; one consumer. */
  events(): AsyncIterable<RealtimeEvent>;
  /** Close the socket and release everything; idempotent. Emits `closed` (reason 'client'). */
  close(): Promise<void>;
}
