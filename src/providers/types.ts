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
