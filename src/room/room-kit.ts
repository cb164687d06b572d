import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.ts';
import { CallroomError, errorMessage } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { ChatMessage } from '../providers/types.ts';
import { AiTurn } from './ai-turn.ts';
import { isIntelligenceChannel, type BindingMetadata, type Channel, type ChannelBinding, type TurnContext, type TurnOutcome } from './channel.ts';
import type { ChannelCategory, EphemeralEvent, EphemeralEventBody, RoomEvent, RoomEventBody } from './events.ts';
import { Room } from './room.ts';
import { noopTracer, type Tracer } from './span.ts';
import type { Tool } from './tool.ts';

export interface RoomKitOptions {
  readonly logger?: Logger;
  readonly tracer?: Tracer;
  /** Drives every deadline and every event timestamp of the kit's rooms. */
  readonly clock?: Clock;
  /**
   * Epoch milliseconds at the moment the kit is created (default: the wall clock then). Event
   * timestamps are this origin advanced by `clock`, so a FakeClock gives reproducible timestamps.
   */
  readonly epochMs?: number;
}

/** A user turn: what was said, by which channel, and which intelligence channel should answer. */
export interface UserTurnInput {
  readonly text: string;
  /** Channel the user spoke through (e.g. the call's transport channel); default "user". */
  readonly source?: string;
  /** Optional speaker name for the user message. */
  readonly name?: string;
  /** Intelligence channel to answer; default the first one attached to the room. */
  readonly channelId?: string;
}

export interface UserTurnOptions {
  /** Aborting it aborts the turn (as `turn.abort()` does). */
  readonly signal?: AbortSignal;
  /** Buffer reply text in `turn.text` (default true); false when nobody reads it. */
  readonly streamText?: boolean;
  /**
   * What the listener actually heard of the turn's text (a prefix of it), known once its playout ended or
   * was cut by barge-in. Awaited after the turn ends and before the next turn's user message is committed;
   * the turn's assistant messages are cut to it (and the heard part of an uncommitted, interrupted round is
   * committed), so the model's history holds what the caller heard, not what it wrote.
   */
  readonly heard?: () => Promise<string>;
}

type EphemeralHandler = (event: EphemeralEvent) => void;

/**
 * The room kit (RoomKit): registers channels, creates rooms, attaches channels to rooms with a
 * category and binding metadata, broadcasts every persistent event to the attached channels, streams
 * ephemeral events to subscribers, and runs user turns through the room's intelligence channel.
 */
export class RoomKit {
  readonly #logger: Logger;
  readonly #tracer: Tracer;
  readonly #clock: Clock;
  readonly #epochOrigin: number;
  readonly #clockOrigin: number;
  readonly #channels = new Map<string, Channel>();
  readonly #rooms = new Map<string, Room>();
  readonly #subscriptions = new Map<string, { roomId: string; handler: EphemeralHandler }>();
  /** Per channel, the tail of its delivery chain: deliveries to one channel stay in timeline order. */
  readonly #deliveries = new Map<string, Promise<void>>();

  constructor(options: RoomKitOptions = {}) {
    this.#logger = options.logger ?? silentLogger();
    this.#tracer = options.tracer ?? noopTracer();
    this.#clock = options.clock ?? systemClock();
    // The one wall-clock read: Clock is monotonic, events carry epoch times.
    this.#epochOrigin = options.epochMs ?? Date.now();
    this.#clockOrigin = this.#clock.now();
  }

  registerChannel(channel: Channel): void {
    if (this.#channels.has(channel.id)) throw new CallroomError('CR_ROOM_CHANNEL_EXISTS', `channel ${channel.id} is already registered`);
    this.#channels.set(channel.id, channel);
  }

  channel(id: string): Channel | undefined {
    return this.#channels.get(id);
  }

  createRoom(options: { id?: string; metadata?: Readonly<Record<string, unknown>>; state?: Record<string, unknown> } = {}): Room {
    const id = options.id ?? randomUUID();
    if (this.#rooms.has(id)) throw new CallroomError('CR_ROOM_EXISTS', `room ${id} already exists`);
    const room = new Room({ id, ...options });
    this.#rooms.set(id, room);
    return room;
  }

  room(id: string): Room | undefined {
    return this.#rooms.get(id);
  }

  /**
   * Attach a registered channel; metadata overrides the channel's defaults for this room, and `tools`
   * adds room-scoped tool objects (e.g. call control) for an intelligence channel.
   */
  attachChannel(
    roomId: string,
    channelId: string,
    options: { category?: ChannelCategory; metadata?: BindingMetadata; tools?: readonly Tool[] } = {},
  ): ChannelBinding {
    const room = this.#room(roomId);
    const channel = this.#channels.get(channelId);
    if (channel === undefined) throw new CallroomError('CR_ROOM_NO_CHANNEL', `channel ${channelId} is not registered`);
    const binding: ChannelBinding = Object.freeze({
      roomId,
      channelId,
      category: options.category ?? channel.category,
      metadata: Object.freeze({ ...(options.metadata ?? {}) }),
      ...(options.tools === undefined ? {} : { tools: Object.freeze([...options.tools]) }),
    });
    room.setBinding(binding);
    this.publish(roomId, 'system', { type: 'channel_attached', channelId, category: binding.category });
    return binding;
  }

  /** Replace a binding's metadata (e.g. a new system prompt mid-call); applies from the next turn. */
  updateBinding(roomId: string, channelId: string, metadata: BindingMetadata): ChannelBinding {
    const room = this.#room(roomId);
    const old = room.binding(channelId);
    if (old === undefined) throw new CallroomError('CR_ROOM_NOT_ATTACHED', `channel ${channelId} is not attached to room ${roomId}`);
    const binding: ChannelBinding = Object.freeze({ ...old, metadata: Object.freeze({ ...metadata }) });
    room.setBinding(binding);
    return binding;
  }

  detachChannel(roomId: string, channelId: string): boolean {
    const room = this.#room(roomId);
    if (!room.removeBinding(channelId)) return false;
    this.#channels.get(channelId)?.detached?.(roomId);
    this.publish(roomId, 'system', { type: 'channel_detached', channelId });
    return true;
  }

  /** Append a persistent event and broadcast it to every attached channel but its source. */
  publish(roomId: string, source: string, body: RoomEventBody): RoomEvent {
    const room = this.#room(roomId);
    const event = room.append(source, body, this.#timestamp());
    for (const binding of room.bindings()) {
      if (binding.channelId === source) continue;
      const channel = this.#channels.get(binding.channelId);
      if (channel?.deliver === undefined) continue;
      this.#deliver(channel, event, binding);
    }
    return event;
  }

  /** Commit a chat message to the room's history (as a persistent `message` event). */
  addMessage(roomId: string, source: string, message: ChatMessage): RoomEvent {
    return this.publish(roomId, source, { type: 'message', message });
  }

  /** Receive the room's ephemeral events (tool calls, text deltas, turn edges). Returns an id for {@link unsubscribeRoom}. */
  subscribeRoom(roomId: string, handler: EphemeralHandler): string {
    this.#room(roomId);
    const id = randomUUID();
    this.#subscriptions.set(id, { roomId, handler });
    return id;
  }

  unsubscribeRoom(subscriptionId: string): boolean {
    return this.#subscriptions.delete(subscriptionId);
  }

  emitEphemeral(roomId: string, channelId: string, body: EphemeralEventBody): void {
    const event = { roomId, channelId, timestamp: this.#timestamp(), ...body } as EphemeralEvent;
    for (const sub of this.#subscriptions.values()) {
      if (sub.roomId !== roomId) continue;
      try {
        sub.handler(event);
      } catch (err) {
        this.#logger.warn({ roomId, err: errorMessage(err) }, 'ephemeral subscriber failed');
      }
    }
  }

  /**
   * Run a user turn: once the previous turn has settled, commit the user's message and let the
   * room's intelligence channel answer. Starting a turn supersedes (aborts) the one in progress.
   */
  userTurn(roomId: string, input: UserTurnInput, options: UserTurnOptions = {}): AiTurn {
    const room = this.#room(roomId);
    const binding = this.#intelligenceBinding(room, input.channelId);
    const channel = this.#channels.get(binding.channelId);
    if (channel === undefined || !isIntelligenceChannel(channel)) {
      throw new CallroomError('CR_ROOM_NO_AGENT', `channel ${binding.channelId} cannot answer turns`);
    }
    const ticket = room.turns.begin(options.signal);
    const turnId = randomUUID();
    const turn = new AiTurn(turnId, ticket, options.streamText ?? true);
    const logger = this.#logger.child({ roomId, turnId });
    /** History positions of the assistant messages this turn committed, in order. */
    const spoken: number[] = [];
    const ctx: TurnContext = {
      turnId,
      room,
      binding,
      ticket,
      text: (delta, signal) => turn.pushText(delta, signal),
      emit: (body) => this.emitEphemeral(roomId, binding.channelId, body),
      publish: (message) => {
        this.addMessage(roomId, binding.channelId, message);
        if (message.role === 'assistant') spoken.push(room.history().length - 1);
      },
      handoff: (from, to) => void this.publish(roomId, binding.channelId, { type: 'handoff', channelId: binding.channelId, from, to }),
      logger,
      tracer: this.#tracer,
      clock: this.#clock,
    };
    void (async () => {
      let outcome: TurnOutcome = { reason: 'aborted', text: '', agent: binding.channelId, rounds: 0 };
      try {
        // The previous turn's uninterruptible tool results land before this user message.
        await ticket.previousSettled();
        const user: ChatMessage = input.name === undefined ? { role: 'user', content: input.text } : { role: 'user', content: input.text, name: input.name };
        this.addMessage(roomId, input.source ?? 'user', user);
        if (ticket.isLive()) outcome = await channel.runTurn(ctx);
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'turn failed');
        outcome = { ...outcome, reason: 'error', error: err instanceof Error ? err : new Error(String(err)) };
      } finally {
        turn.finish(outcome);
        if (options.heard !== undefined) await this.#commitHeard(room, binding.channelId, spoken, options.heard, logger);
        ticket.settle();
      }
    })();
    return turn;
  }

  /**
   * Cut the turn's assistant messages to what was heard and commit the heard rest of an interrupted round.
   * `heard` is a prefix of the turn's streamed text, which is its rounds' texts one after the other.
   */
  async #commitHeard(room: Room, channelId: string, spoken: readonly number[], heardFn: () => Promise<string>, logger: Logger): Promise<void> {
    let heard: string;
    try {
      heard = await heardFn();
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'heard text unavailable: history keeps the written text');
      return;
    }
    if (room.closed) return;
    let offset = 0;
    for (const index of spoken) {
      const message = room.history()[index];
      if (message?.role !== 'assistant') continue;
      const part = heard.slice(offset, offset + message.content.length);
      if (part.length < message.content.length) {
        this.publish(room.id, channelId, { type: 'message_amended', index, message: { ...message, content: part.trimEnd() } });
      }
      offset += message.content.length;
    }
    const rest = heard.slice(offset).trim();
    if (rest !== '') this.addMessage(room.id, channelId, { role: 'assistant', content: rest });
  }

  /** Barge-in: abort the room's current turn, if any. */
  interrupt(roomId: string, reason: unknown = 'barge-in'): void {
    this.#room(roomId).turns.abortCurrent(reason);
  }

  /** Abort the current turn, wait for it to settle, detach everything and forget the room. */
  async closeRoom(roomId: string): Promise<void> {
    const room = this.#rooms.get(roomId);
    if (room === undefined) return;
    room.turns.abortCurrent('room closed');
    await room.turns.ticket?.settled();
    this.publish(roomId, 'system', { type: 'room_closed' });
    for (const b of room.bindings()) {
      room.removeBinding(b.channelId);
      this.#channels.get(b.channelId)?.detached?.(roomId);
    }
    room.markClosed();
    for (const [id, sub] of this.#subscriptions) if (sub.roomId === roomId) this.#subscriptions.delete(id);
    this.#rooms.delete(roomId);
    await this.flush();
  }

  /** Resolves when every delivery queued so far has finished. */
  async flush(): Promise<void> {
    await Promise.all(this.#deliveries.values());
  }

  /** Close every room, then every channel. */
  async close(): Promise<void> {
    for (const id of [...this.#rooms.keys()]) await this.closeRoom(id);
    for (const channel of this.#channels.values()) {
      try {
        await channel.close?.();
      } catch (err) {
        this.#logger.warn({ channelId: channel.id, err: errorMessage(err) }, 'channel close failed');
      }
    }
  }

  /** Epoch milliseconds now, as the kit's clock sees it. */
  #timestamp(): number {
    return Math.round(this.#epochOrigin + (this.#clock.now() - this.#clockOrigin));
  }

  #room(id: string): Room {
    const room = this.#rooms.get(id);
    if (room === undefined) throw new CallroomError('CR_ROOM_NOT_FOUND', `room ${id} does not exist`);
    return room;
  }

  #intelligenceBinding(room: Room, channelId: string | undefined): ChannelBinding {
    const binding =
      channelId === undefined ? room.bindings().find((b) => b.category === 'intelligence') : room.binding(channelId);
    if (binding === undefined) throw new CallroomError('CR_ROOM_NO_AGENT', `room ${room.id} has no intelligence channel attached`);
    return binding;
  }

  #deliver(channel: Channel, event: RoomEvent, binding: ChannelBinding): void {
    const prev = this.#deliveries.get(channel.id) ?? Promise.resolve();
    const next = prev.then(async () => {
      try {
        await channel.deliver?.(event, binding);
      } catch (err) {
        this.#logger.warn({ channelId: channel.id, roomId: event.roomId, err: errorMessage(err) }, 'channel delivery failed');
      }
    });
    this.#deliveries.set(channel.id, next);
    void next.then(() => {
      if (this.#deliveries.get(channel.id) === next) this.#deliveries.delete(channel.id);
    });
  }
}
