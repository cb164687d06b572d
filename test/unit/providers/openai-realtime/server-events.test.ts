import { describe, expect, it } from 'vitest';
import { parseServerEvent } from '../../../../src/providers/openai-realtime/server-events.ts';

describe('OpenAI Realtime server events', () => {
  it('reads the events the session acts on', () => {
    expect(parseServerEvent({ type: 'input_audio_buffer.speech_started', audio_start_ms: 120, item_id: 'item_1', event_id: 'e' })).toEqual({ kind: 'speech_started', audioMs: 120, itemId: 'item_1' });
    expect(parseServerEvent({ type: 'response.output_audio.delta', response_id: 'r', item_id: 'i', delta: 'AAA=' })).toEqual({ kind: 'audio_delta', responseId: 'r', itemId: 'i', base64: 'AAA=' });
    expect(parseServerEvent({ type: 'response.function_call_arguments.done', call_id: 'c', name: 'n', arguments: '{}', response_id: 'r' })).toEqual({ kind: 'function_call', callId: 'c', name: 'n', arguments: '{}', responseId: 'r' });
    expect(parseServerEvent({ type: 'response.done', response: { id: 'r', status: 'cancelled', status_details: { type: 'cancelled', reason: 'turn_detected' } } })).toEqual({ kind: 'response_done', responseId: 'r', status: 'cancelled', reason: 'turn_detected', errorCode: undefined });
    expect(parseServerEvent({ type: 'response.done', response: { id: 'r', status: 'failed', status_details: { error: { type: 'server_error', code: 'overloaded' } } } })).toMatchObject({ errorCode: 'overloaded' });
    expect(parseServerEvent({ type: 'error', error: { type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'm', param: null } })).toEqual({ kind: 'error', type: 'invalid_request_error', code: 'response_cancel_not_active', message: 'm', param: undefined });
    expect(parseServerEvent({ type: 'conversation.item.input_audio_transcription.completed', item_id: 'i', transcript: 'hi' })).toMatchObject({ kind: 'transcript', role: 'user', text: 'hi', final: true });
    expect(parseServerEvent({ type: 'response.output_audio_transcript.delta', item_id: 'i', delta: 'h', response_id: 'r' })).toMatchObject({ kind: 'transcript', role: 'assistant', final: false, responseId: 'r' });
  });

  it('calls shape errors malformed, never throws', () => {
    const bad: unknown[] = [
      null,
      42,
      'text',
      [1],
      {},
      { type: 7 },
      { type: 'response.output_audio.delta', delta: 12 },
      { type: 'response.output_audio.delta', response_id: 'r', item_id: 'i' },
      { type: 'response.function_call_arguments.done', call_id: 'x' },
      { type: 'response.done', response: 5 },
      { type: 'response.done', response: { id: 'r' } },
      { type: 'response.created', response: {} },
      { type: 'error', error: 'flat' },
      { type: 'conversation.item.truncated', item_id: 'i' },
    ];
    for (const b of bad) expect(parseServerEvent(b).kind, JSON.stringify(b)).toBe('malformed');
  });

  it('tells known-but-unused events from unknown ones', () => {
    expect(parseServerEvent({ type: 'rate_limits.updated', rate_limits: [] })).toEqual({ kind: 'ignored' });
    expect(parseServerEvent({ type: 'response.function_call_arguments.delta' })).toEqual({ kind: 'ignored' });
    expect(parseServerEvent({ type: 'brand.new.event' })).toEqual({ kind: 'unknown', type: 'brand.new.event' });
  });
});
