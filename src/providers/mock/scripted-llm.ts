import { sleep } from '../../core/abort.ts';
import { AbortedError } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { LlmEvent, LlmProvider, LlmRequest } from '../types.ts';

type FinishReason = Extract<LlmEvent, { type: 'done' }>['finishReason'];

/** One step of a scripted model turn, played in order. */
export type ScriptStep =
  | { readonly text: string }
  | { readonly thinking: string }
  /** `arguments` given as an object is serialized; a string is passed through untouched (to script bad JSON). */
  | { readonly toolCall: { readonly id?: string; readonly name: string; readonly arguments?: unknown } }
  /** Pause; an abort during the pause ends the stream with AbortedError, as a real adapter would. */
  | { readonly delayMs: number }
  /** Fail the stream here (after the steps before it were delivered). */
  | { readonly error: Error }
  /** Finish reason for the closing `done` event (otherwise inferred: `tool_calls` if any call, else `stop`). */
  | { readonly finish: FinishReason };

/** A whole model turn: a list of steps, a text shorthand, or a function of the request (for dynamic replies). */
export type ScriptedTurn = readonly ScriptStep[] | string | ((request: LlmRequest, index: number) => readonly ScriptStep[] | string);

export interface ScriptedLlmOptions {
  readonly name?: string;
  /** Turns served in order, one per `stream()` call. */
  readonly turns?: readonly ScriptedTurn[];
  /** Served when the list is used up (e.g. "always call the tool again"); without it, an extra call fails. */
  readonly fallback?: ScriptedTurn;
  /** Split `text` steps into chunks of this many characters to exercise streaming (default: whole). */
  readonly chunkSize?: number;
}

/**
 * A deterministic {@link LlmProvider} for tests: it plays scripted turns (text chunks, thinking, tool
 * calls, delays, errors) and records every request it was given, so a test can assert both on the
 * stream the room emits and on what the model was offered (pipecat `run_test` style).
 */
export class ScriptedLlm implements LlmProvider {
  readonly name: string;
  /** Every request, deep-copied at the moment it arrived. */
  readonly requests: LlmRequest[] = [];
  readonly #turns: ScriptedTurn[];
  readonly #fallback: ScriptedTurn | undefined;
  readonly #chunkSize: number;
  #callIds = 0;
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(options: ScriptedLlmOptions = {}) {
    this.name = options.name ?? 'scripted';
    this.#turns = [...(options.turns ?? [])];
    this.#fallback = options.fallback;
    this.#chunkSize = options.chunkSize ?? 0;
  }

  /** Append turns after construction (e.g. the reply to a follow-up user message). */
  push(...turns: ScriptedTurn[]): void {
    this.#turns.push(...turns);
  }

  /** Resolve once at least `count` requests have arrived. */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    const index = this.requests.length;
    this.requests.push(structuredClone(request) as LlmRequest);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.requests.length < w.count) return true;
      w.resolve();
      return false;
    });
    const scripted = this.#turns.shift() ?? this.#fallback;
    if (scripted === undefined) {
      throw new ProviderError(this.name, 'CR_PROVIDER_REJECTED', `script exhausted at request ${index + 1}`);
    }
    const turn = typeof scripted === 'function' ? scripted(request, index) : scripted;
    const steps: readonly ScriptStep[] = typeof turn === 'string' ? [{ text: turn }] : turn;
    let sawCall = false;
    let finish: FinishReason | undefined;
    for (const step of steps) {
      if (signal?.aborted) throw new AbortedError();
      if ('delayMs' in step) {
        await sleep(step.delayMs, signal);
      } else if ('error' in step) {
        throw step.error;
      } else if ('finish' in step) {
        finish = step.finish;
      } else if ('thinking' in step) {
        yield { type: 'thinking', delta: step.thinking };
      } else if ('text' in step) {
        for (const piece of this.#chunks(step.text)) yield { type: 'text', delta: piece };
      } else {
        sawCall = true;
        const args = step.toolCall.arguments;
        yield {
          type: 'tool_call',
          call: {
            id: step.toolCall.id ?? `call_${++this.#callIds}`,
            name: step.toolCall.name,
            arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
          },
        };
      }
    }
    yield { type: 'done', finishReason: finish ?? (sawCall ? 'tool_calls' : 'stop') };
  }

  #chunks(text: string): string[] {
    if (this.#chunkSize <= 0 || text.length <= this.#chunkSize) return [text];
    const out: string[] = [];
    for (let i = 0; i < text.length; i += this.#chunkSize) out.push(text.slice(i, i + this.#chunkSize));
    return out;
  }
}
