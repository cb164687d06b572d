import type { ChatMessage, ToolCall } from '../providers/types.ts';
import type { ToolCallStatus } from './tool-executor.ts';
import type { ToolLoopStopReason } from './tool-loop.ts';

/** What a channel is to a room: a medium (call, WebSocket), an agent, or an outbound hook. */
export type ChannelCategory = 'transport' | 'intelligence' | 'webhook';

/** Body of a persistent room event. */
export type RoomEventBody =
  | { readonly type: 'message'; readonly message: ChatMessage }
  /**
   * A message already in the history was cut to what the listener heard (barge-in): `index` is its place in
   * the chat history, `message` what it says now.
   */
  | { readonly type: 'message_amended'; readonly index: number; readonly message: ChatMessage }
  | { readonly type: 'channel_attached'; readonly channelId: string; readonly category: ChannelCategory }
  | { readonly type: 'channel_detached'; readonly channelId: string }
  /** The conversation moved to another agent, with its full history. */
  | { readonly type: 'handoff'; readonly channelId: string; readonly from: string; readonly to: string }
  | { readonly type: 'room_closed' };

/**
 * A persistent room event: appended to the room's timeline and broadcast to every attached channel
 * (except the one it came from). JSON-serializable, so a webhook can post it as is.
 */
export type RoomEvent = {
  readonly id: string;
  readonly roomId: string;
  /** 1-based position in the room's timeline. */
  readonly seq: number;
  /** Epoch milliseconds. */
  readonly timestamp: number;
  /** Channel id the event came from, or "system". */
  readonly source: string;
} & RoomEventBody;

/** Body of an ephemeral event: streamed to room subscribers, not stored, not broadcast to channels. */
export type EphemeralEventBody =
  | { readonly type: 'TURN_STARTED'; readonly turnId: string; readonly generation: number; readonly agent: string }
  | { readonly type: 'TEXT_DELTA'; readonly turnId: string; readonly delta: string }
  | { readonly type: 'THINKING_DELTA'; readonly turnId: string; readonly delta: string }
  /** All the calls of one round, before any runs. */
  | { readonly type: 'TOOL_CALL_START'; readonly turnId: string; readonly round: number; readonly calls: readonly ToolCall[] }
  /** One call finished (in completion order). */
  | {
      readonly type: 'TOOL_CALL_END';
      readonly turnId: string;
      readonly callId: string;
      readonly name: string;
      readonly status: ToolCallStatus;
      readonly duration_ms: number;
      readonly truncated: boolean;
    }
  | { readonly type: 'TOOL_LOOP_WARNING'; readonly turnId: string; readonly message: string; readonly round: number }
  | {
      readonly type: 'TURN_ENDED';
      readonly turnId: string;
      readonly reason: ToolLoopStopReason;
      readonly rounds: number;
      readonly agent: string;
    };

export type EphemeralEvent = {
  readonly roomId: string;
  /** Channel that produced the event. */
  readonly channelId: string;
  readonly timestamp: number;
} & EphemeralEventBody;

export type EphemeralEventType = EphemeralEventBody['type'];
