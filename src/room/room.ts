import type { ChatMessage } from '../providers/types.ts';
import type { ChannelBinding } from './channel.ts';
import type { RoomEvent, RoomEventBody } from './events.ts';
import { TurnGeneration } from './turn-generation.ts';

export interface RoomOptions {
  readonly id: string;
  /** Read-only to tools (call id, caller number, ...). */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Initial shared state (agents and agents-as-tools read and write it). */
  readonly state?: Record<string, unknown>;
}

/**
 * One conversation: its timeline of persistent events, the chat history derived from it, its
 * channel bindings, shared state and turn counter. The kit mutates it; everyone else reads.
 */
export class Room {
  readonly id: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly state: Record<string, unknown>;
  /** Turn generations: starting or aborting a turn makes the previous turn's tool calls stale. */
  readonly turns = new TurnGeneration();
  readonly #events: RoomEvent[] = [];
  readonly #history: ChatMessage[] = [];
  readonly #bindings = new Map<string, ChannelBinding>();
  #closed = false;

  constructor(options: RoomOptions) {
    this.id = options.id;
    this.metadata = Object.freeze({ ...(options.metadata ?? {}) });
    this.state = options.state ?? {};
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The timeline of persistent events. */
  events(): readonly RoomEvent[] {
    return this.#events;
  }

  /** The conversation as chat messages (no system prompt: each agent adds its own). */
  history(): readonly ChatMessage[] {
    return this.#history;
  }

  binding(channelId: string): ChannelBinding | undefined {
    return this.#bindings.get(channelId);
  }

  bindings(): ChannelBinding[] {
    return [...this.#bindings.values()];
  }

  /** @internal Append an event (kit only). */
  append(source: string, body: RoomEventBody, timestamp: number): RoomEvent {
    const seq = this.#events.length + 1;
    const event = { id: `${this.id}:${seq}`, roomId: this.id, seq, timestamp, source, ...body } as RoomEvent;
    this.#events.push(event);
    if (body.type === 'message') this.#history.push(body.message);
    else if (body.type === 'message_amended' && body.index >= 0 && body.index < this.#history.length) this.#history[body.index] = body.message;
    return event;
  }

  /** @internal */
  setBinding(binding: ChannelBinding): void {
    this.#bindings.set(binding.channelId, binding);
  }

  /** @internal */
  removeBinding(channelId: string): boolean {
    return this.#bindings.delete(channelId);
  }

  /** @internal */
  markClosed(): void {
    this.#closed = true;
  }
}
