/**
 * The turn-taking state the OpenAI Realtime protocol leaves to the client, kept apart from the
 * socket so it can be reasoned about (and tested) alone:
 * - one response at a time: the active response id, from `response.created` to `response.done`;
 * - tool calls outstanding per response; the model is asked to go on (`response.create`) once every
 *   call is answered AND the response that made them is done — a second create while one is active
 *   is refused by the server;
 * - responses we cancelled, whose late audio and transcript deltas are dropped;
 * - output audio received per item, so a truncate never claims more than was sent.
 */
import type { RealtimeResponseStatus } from '../types.ts';

/** Items whose received output audio is remembered. */
const MAX_TRACKED_ITEMS = 64;

export class ResponseTracker {
  #active: string | undefined;
  readonly #cancelled = new Set<string>();
  readonly #calls = new Map<string, { readonly name: string; readonly responseId: string }>();
  #wanted = false;
  readonly #itemBytes = new Map<string, number>();

  get activeResponseId(): string | undefined {
    return this.#active;
  }

  get outstandingCalls(): number {
    return this.#calls.size;
  }

  onCreated(responseId: string): void {
    this.#active = responseId;
  }

  /** Whether output of this response should reach the caller (false once we cancelled it). */
  delivers(responseId: string): boolean {
    return !this.#cancelled.has(responseId);
  }

  /** Count output audio; call only for delivered audio. */
  onAudio(itemId: string, bytes: number): void {
    const had = this.#itemBytes.get(itemId);
    if (had === undefined && this.#itemBytes.size >= MAX_TRACKED_ITEMS) {
      const oldest = this.#itemBytes.keys().next().value;
      if (oldest !== undefined) this.#itemBytes.delete(oldest);
    }
    this.#itemBytes.set(itemId, (had ?? 0) + bytes);
  }

  /** A complete function call; false when its response was cancelled (not passed on). */
  onCall(callId: string, name: string, responseId: string): boolean {
    if (this.#cancelled.has(responseId)) return false;
    this.#calls.set(callId, { name, responseId });
    return true;
  }

  /**
   * A tool result is being sent. `unknown` for a call never made or withdrawn; otherwise whether
   * to send `response.create` now (every call answered, no response active).
   */
  answer(callId: string): { readonly known: false } | { readonly known: true; readonly name: string; readonly createNow: boolean } {
    const call = this.#calls.get(callId);
    if (call === undefined) return { known: false };
    this.#calls.delete(callId);
    return { known: true, name: call.name, createNow: this.#calls.size === 0 && this.#wantResponse() };
  }

  /** Something new for the model to answer (a user text): true to create now, else at the active one's done. */
  requestResponse(): boolean {
    return this.#wantResponse();
  }

  /** The caller asked to cancel: the active response's remaining output is dropped. */
  cancelActive(): void {
    if (this.#active !== undefined) this.#cancelled.add(this.#active);
  }

  /**
   * `response.done`: how it ended for the caller, calls withdrawn with it, and whether a
   * `response.create` held back for tool results is due now.
   */
  onDone(responseId: string, status: string, reason: string | undefined): { status: RealtimeResponseStatus; withdrawn: string[]; createNow: boolean } {
    if (this.#active === responseId) this.#active = undefined;
    const locallyCancelled = this.#cancelled.delete(responseId);
    const mapped = mapStatus(status, reason, locallyCancelled);
    const withdrawn: string[] = [];
    if (mapped !== 'completed') {
      // Calls of a response that did not complete are withdrawn: the caller moved on.
      for (const [callId, c] of this.#calls) if (c.responseId === responseId) withdrawn.push(callId);
      for (const callId of withdrawn) this.#calls.delete(callId);
    }
    let createNow = false;
    if (this.#wanted && this.#calls.size === 0) {
      this.#wanted = false;
      createNow = true;
    }
    return { status: mapped, withdrawn, createNow };
  }

  /** `audioEndMs` cut to the audio received for the item (the server refuses more). */
  clampTruncate(itemId: string, audioEndMs: number, bytesPerMs: number): number {
    const ms = Math.max(0, Math.floor(Number.isFinite(audioEndMs) ? audioEndMs : 0));
    const received = this.#itemBytes.get(itemId);
    return received === undefined ? ms : Math.min(ms, Math.floor(received / bytesPerMs));
  }

  clear(): void {
    this.#active = undefined;
    this.#cancelled.clear();
    this.#calls.clear();
    this.#wanted = false;
    this.#itemBytes.clear();
  }

  /** True to create now; false when a response is active (it is created at that one's done). */
  #wantResponse(): boolean {
    if (this.#active !== undefined) {
      this.#wanted = true;
      return false;
    }
    this.#wanted = false;
    return true;
  }
}

function mapStatus(status: string, reason: string | undefined, locallyCancelled: boolean): RealtimeResponseStatus {
  switch (status) {
    case 'completed':
      return 'completed';
    case 'cancelled':
      return reason === 'turn_detected' && !locallyCancelled ? 'interrupted' : 'cancelled';
    case 'incomplete':
      return 'incomplete';
    default:
      return 'failed';
  }
}
