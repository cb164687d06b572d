import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { ChatMessage, ToolDefinition } from '../providers/types.ts';
import type { ChannelCategory, EphemeralEventBody, RoomEvent } from './events.ts';
import type { Room } from './room.ts';
import type { Tracer } from './span.ts';
import type { Tool } from './tool.ts';
import type { ToolLoopStopReason } from './tool-loop.ts';
import type { TurnTicket } from './turn-generation.ts';

/**
 * Per-room binding metadata. The named keys override an AI channel's defaults for that room only
 * (RoomKit's binding metadata); other keys are free for the channel's own use.
 */
export interface BindingMetadata {
  readonly system_prompt?: string;
  readonly temperature?: number;
  readonly max_tokens?: number;
  readonly thinking_budget?: number;
  /**
   * Per-room tools as plain JSON Schema definitions; calls go to the channel's tool handler. One with
   * the name of a channel default tool replaces that default in this room (per-room override).
   */
  readonly tools?: readonly ToolDefinition[];
  /** Role for the tool policy's role overrides. */
  readonly role?: string;
  readonly [key: string]: unknown;
}

/** A channel attached to a room. */
export interface ChannelBinding {
  readonly roomId: string;
  readonly channelId: string;
  readonly category: ChannelCategory;
  readonly metadata: BindingMetadata;
  /**
   * Room-scoped tool objects (the call's hangUp and transfer, acting on that call), offered to every
   * agent that answers in this room, handoff targets included.
   */
  readonly tools?: readonly Tool[];
}

/** Anything attached to rooms: a transport, an agent, a webhook. */
export interface Channel {
  readonly id: string;
  /** Category used when attached without one. */
  readonly category: ChannelCategory;
  /**
   * Every persistent event of the rooms it is attached to, except its own. Called in timeline order;
   * a rejection is logged and never reaches the room.
   */
  deliver?(event: RoomEvent, binding: ChannelBinding): void | Promise<void>;
  /** The channel was detached from a room (drop per-room state). */
  detached?(roomId: string): void;
  close?(): void | Promise<void>;
}

/** What an intelligence channel gets for one turn. */
export interface TurnContext {
  readonly turnId: string;
  readonly room: Room;
  readonly binding: ChannelBinding;
  /** Liveness and abort of this turn. */
  readonly ticket: TurnTicket;
  /**
   * Stream a text delta to whoever speaks it: awaits while the consumer is behind, until the turn or
   * `signal` (the tool loop's interruption) aborts.
   */
  text(delta: string, signal?: AbortSignal): Promise<void>;
  /** Emit an ephemeral event to room subscribers. */
  emit(body: EphemeralEventBody): void;
  /** Commit a message to the room (persistent event, broadcast). */
  publish(message: ChatMessage): void;
  /** Record that the conversation moved from one agent to another. */
  handoff(from: string, to: string): void;
  readonly logger: Logger;
  readonly tracer: Tracer;
  readonly clock: Clock;
}

/** How a turn ended, as the intelligence channel reports it. */
export interface TurnOutcome {
  readonly reason: ToolLoopStopReason;
  /** All text the turn streamed (partial when aborted). */
  readonly text: string;
  /** Name of the agent that answered last (after handoffs). */
  readonly agent: string;
  readonly rounds: number;
  readonly error?: Error;
}

/** A channel that answers user turns (the AI channel). */
export interface IntelligenceChannel extends Channel {
  runTurn(ctx: TurnContext): Promise<TurnOutcome>;
}

export function isIntelligenceChannel(channel: Channel): channel is IntelligenceChannel {
  return typeof (channel as Partial<IntelligenceChannel>).runTurn === 'function';
}
