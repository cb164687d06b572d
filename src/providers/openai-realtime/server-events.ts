/**
 * OpenAI Realtime GA server events -> the few shapes the session acts on. The SDK hands over any
 * JSON the server sent, unchecked, so every field the session uses is checked here: a malformed
 * event becomes a value the session logs and skips, never an exception on the receive path.
 */

export type ServerEvent =
  | { readonly kind: 'session_updated' }
  | { readonly kind: 'speech_started'; readonly audioMs: number | undefined; readonly itemId: string | undefined }
  | { readonly kind: 'speech_stopped'; readonly audioMs: number | undefined; readonly itemId: string | undefined }
  | { readonly kind: 'response_created'; readonly responseId: string }
  | { readonly kind: 'audio_delta'; readonly responseId: string; readonly itemId: string; readonly base64: string }
  | { readonly kind: 'transcript'; readonly role: 'user' | 'assistant'; readonly text: string; readonly final: boolean; readonly itemId: string; readonly responseId: string | undefined }
  | { readonly kind: 'function_call'; readonly callId: string; readonly name: string; readonly arguments: string; readonly responseId: string }
  | {
      readonly kind: 'response_done';
      readonly responseId: string;
      readonly status: string;
      readonly reason: string | undefined;
      readonly errorCode: string | undefined;
    }
  | { readonly kind: 'truncated'; readonly itemId: string; readonly audioEndMs: number }
  | { readonly kind: 'error'; readonly code: string | undefined; readonly type: string; readonly message: string; readonly param: string | undefined }
  | { readonly kind: 'transcription_failed'; readonly itemId: string | undefined; readonly message: string | undefined }
  /** Well-formed and known, nothing to do. */
  | { readonly kind: 'ignored' }
  | { readonly kind: 'unknown'; readonly type: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** Events the protocol sends that the session deliberately does nothing with. */
const IGNORED = new Set([
  'session.created',
  'conversation.created',
  'conversation.item.added',
  'conversation.item.created',
  'conversation.item.done',
  'conversation.item.deleted',
  'conversation.item.retrieved',
  'conversation.item.input_audio_transcription.segment',
  'input_audio_buffer.committed',
  'input_audio_buffer.cleared',
  'input_audio_buffer.timeout_triggered',
  'input_audio_buffer.dtmf_event_received',
  'output_audio_buffer.started',
  'output_audio_buffer.stopped',
  'output_audio_buffer.cleared',
  'response.output_item.added',
  'response.output_item.done',
  'response.content_part.added',
  'response.content_part.done',
  'response.output_audio.done',
  'response.output_text.delta',
  'response.output_text.done',
  'response.function_call_arguments.delta',
  'rate_limits.updated',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function missing(type: string, field: string): ServerEvent {
  return { kind: 'malformed', reason: `${type} without ${field}` };
}

export function parseServerEvent(raw: unknown): ServerEvent {
  if (!isRecord(raw)) return { kind: 'malformed', reason: 'not a JSON object' };
  const type = raw.type;
  if (typeof type !== 'string') return { kind: 'malformed', reason: 'event without type' };
  switch (type) {
    case 'session.updated':
      return { kind: 'session_updated' };
    case 'input_audio_buffer.speech_started':
      return { kind: 'speech_started', audioMs: num(raw.audio_start_ms), itemId: str(raw.item_id) };
    case 'input_audio_buffer.speech_stopped':
      return { kind: 'speech_stopped', audioMs: num(raw.audio_end_ms), itemId: str(raw.item_id) };
    case 'response.created': {
      const id = isRecord(raw.response) ? str(raw.response.id) : undefined;
      return id === undefined ? missing(type, 'response.id') : { kind: 'response_created', responseId: id };
    }
    case 'response.output_audio.delta': {
      const responseId = str(raw.response_id);
      const itemId = str(raw.item_id);
      const delta = str(raw.delta);
      if (responseId === undefined || itemId === undefined) return missing(type, 'response_id/item_id');
      if (delta === undefined) return missing(type, 'delta');
      return { kind: 'audio_delta', responseId, itemId, base64: delta };
    }
    case 'response.output_audio_transcript.delta':
    case 'response.output_audio_transcript.done': {
      const final = type.endsWith('.done');
      const text = str(final ? raw.transcript : raw.delta);
      const itemId = str(raw.item_id);
      if (text === undefined || itemId === undefined) return missing(type, final ? 'transcript/item_id' : 'delta/item_id');
      return { kind: 'transcript', role: 'assistant', text, final, itemId, responseId: str(raw.response_id) };
    }
    case 'conversation.item.input_audio_transcription.delta':
    case 'conversation.item.input_audio_transcription.completed': {
      const final = type.endsWith('.completed');
      const text = str(final ? raw.transcript : raw.delta);
      const itemId = str(raw.item_id);
      if (text === undefined || itemId === undefined) return missing(type, final ? 'transcript/item_id' : 'delta/item_id');
      return { kind: 'transcript', role: 'user', text, final, itemId, responseId: undefined };
    }
    case 'conversation.item.input_audio_transcription.failed': {
      const message = isRecord(raw.error) ? str(raw.error.message) : undefined;
      return { kind: 'transcription_failed', itemId: str(raw.item_id), message };
    }
    case 'response.function_call_arguments.done': {
      const callId = str(raw.call_id);
      const name = str(raw.name);
      const args = str(raw.arguments);
      const responseId = str(raw.response_id);
      if (callId === undefined || name === undefined || args === undefined || responseId === undefined) {
        return missing(type, 'call_id/name/arguments/response_id');
      }
      return { kind: 'function_call', callId, name, arguments: args, responseId };
    }
    case 'response.done': {
      const r = raw.response;
      if (!isRecord(r)) return missing(type, 'response');
      const id = str(r.id);
      const status = str(r.status);
      if (id === undefined || status === undefined) return missing(type, 'response.id/status');
      const details = isRecord(r.status_details) ? r.status_details : undefined;
      const err = details !== undefined && isRecord(details.error) ? details.error : undefined;
      return {
        kind: 'response_done',
        responseId: id,
        status,
        reason: str(details?.reason),
        errorCode: str(err?.code) ?? str(err?.type),
      };
    }
    case 'conversation.item.truncated': {
      const itemId = str(raw.item_id);
      const ms = num(raw.audio_end_ms);
      if (itemId === undefined || ms === undefined) return missing(type, 'item_id/audio_end_ms');
      return { kind: 'truncated', itemId, audioEndMs: ms };
    }
    case 'error': {
      const e = raw.error;
      if (!isRecord(e)) return missing(type, 'error');
      return {
        kind: 'error',
        code: str(e.code) ?? undefined,
        type: str(e.type) ?? 'unknown',
        message: str(e.message) ?? '',
        param: str(e.param) ?? undefined,
      };
    }
    default:
      return IGNORED.has(type) ? { kind: 'ignored' } : { kind: 'unknown', type };
  }
}
