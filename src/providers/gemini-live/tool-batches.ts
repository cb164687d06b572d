/**
 * Gemini's function calls arrive several to a `toolCall` message and are answered together in one
 * `toolResponse` (the documented pattern: the model goes on once it has them all). This keeps, per
 * message, which calls still wait for a result, and hands back the batch once the last one is in —
 * answered, or withdrawn by `toolCallCancellation`.
 */
import type { FunctionResponse } from '@google/genai';

interface Batch {
  readonly waiting: Set<string>;
  readonly responses: FunctionResponse[];
}

export class ToolBatches {
  readonly #byCall = new Map<string, Batch>();

  get pending(): number {
    return this.#byCall.size;
  }

  /** The calls of one `toolCall` message. */
  add(callIds: readonly string[]): void {
    const batch: Batch = { waiting: new Set(callIds), responses: [] };
    for (const id of callIds) this.#byCall.set(id, batch);
  }

  has(callId: string): boolean {
    return this.#byCall.has(callId);
  }

  /**
   * Record a result. `unknown` for a call never made or withdrawn; otherwise the batch's responses
   * when this completed it (send them), else undefined (wait for the others).
   */
  answer(response: FunctionResponse & { id: string }): 'unknown' | FunctionResponse[] | undefined {
    const batch = this.#byCall.get(response.id);
    if (batch === undefined) return 'unknown';
    this.#byCall.delete(response.id);
    batch.waiting.delete(response.id);
    batch.responses.push(response);
    return batch.waiting.size === 0 ? batch.responses : undefined;
  }

  /** Withdraw calls; returns the ids that were pending and the batches this completed (to send). */
  withdraw(callIds: readonly string[]): { withdrawn: string[]; complete: FunctionResponse[][] } {
    const withdrawn: string[] = [];
    const complete: FunctionResponse[][] = [];
    for (const id of callIds) {
      const batch = this.#byCall.get(id);
      if (batch === undefined) continue;
      this.#byCall.delete(id);
      batch.waiting.delete(id);
      withdrawn.push(id);
      // The others of the batch may all be answered already.
      if (batch.waiting.size === 0 && batch.responses.length > 0) complete.push(batch.responses);
    }
    return { withdrawn, complete };
  }

  /** Every pending call id. */
  ids(): string[] {
    return [...this.#byCall.keys()];
  }

  clear(): void {
    this.#byCall.clear();
  }
}
