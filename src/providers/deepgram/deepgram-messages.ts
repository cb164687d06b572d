/**
 * Deepgram live (`/v1/listen`) server messages -> `SttEvent`s. The SDK hands over whatever JSON
 * the server sent (or the raw string when it was not JSON, or a Blob for binary), unchecked, so
 * every field is checked here: a malformed message becomes a value the session logs and skips,
 * never an exception on the receive path.
 */
import type { SttEvent, WordTiming } from '../types.ts';

export type DeepgramMessage =
  | { readonly kind: 'event'; readonly event: SttEvent }
  | { readonly kind: 'metadata'; readonly requestId: string | undefined; readonly durationSec: number | undefined }
  /** Well-formed but nothing to emit (e.g. an empty interim). */
  | { readonly kind: 'skip' }
  | { readonly kind: 'malformed'; readonly reason: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function parseWords(raw: unknown, timeBaseSec: number): WordTiming[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const words: WordTiming[] = [];
  for (const w of raw) {
    if (!isRecord(w)) continue;
    const text = typeof w.punctuated_word === 'string' ? w.punctuated_word : typeof w.word === 'string' ? w.word : undefined;
    const start = num(w.start);
    const end = num(w.end);
    if (text === undefined || start === undefined || end === undefined) continue;
    const confidence = num(w.confidence);
    words.push({
      word: text,
      start: start + timeBaseSec,
      end: Math.max(start, end) + timeBaseSec,
      ...(confidence !== undefined ? { confidence } : {}),
    });
  }
  return words;
}

/**
 * Classify one message. `timeBaseSec` is the session time at which the current connection's
 * audio started (non-zero after a reconnect, since Deepgram restarts its clock per connection).
 */
export function parseDeepgramMessage(msg: unknown, timeBaseSec: number): DeepgramMessage {
  if (typeof msg === 'string') return { kind: 'malformed', reason: 'not JSON' };
  if (!isRecord(msg)) return { kind: 'malformed', reason: 'not a JSON object' };
  switch (msg.type) {
    case 'Results': {
      const channel = msg.channel;
      if (!isRecord(channel) || !Array.isArray(channel.alternatives)) {
        return { kind: 'malformed', reason: 'Results without channel.alternatives' };
      }
      const alt: unknown = channel.alternatives[0];
      if (!isRecord(alt) || typeof alt.transcript !== 'string') {
        return { kind: 'malformed', reason: 'Results without a transcript' };
      }
      const isFinal = msg.is_final === true;
      // Empty interims are Deepgram's "nothing yet": noise for the turn logic. Empty finals stay,
      // because speech_final on them still marks an endpoint.
      if (!isFinal && alt.transcript.trim() === '') return { kind: 'skip' };
      const words = parseWords(alt.words, timeBaseSec);
      const confidence = num(alt.confidence);
      return {
        kind: 'event',
        event: {
          type: 'transcript',
          text: alt.transcript,
          isFinal,
          speechFinal: msg.speech_final === true,
          ...(words !== undefined ? { words } : {}),
          ...(confidence !== undefined ? { confidence } : {}),
        },
      };
    }
    case 'SpeechStarted': {
      const ts = num(msg.timestamp);
      if (ts === undefined) return { kind: 'malformed', reason: 'SpeechStarted without timestamp' };
      return { kind: 'event', event: { type: 'speech_started', timestamp: ts + timeBaseSec } };
    }
    case 'UtteranceEnd': {
      const ts = num(msg.last_word_end);
      if (ts === undefined) return { kind: 'malformed', reason: 'UtteranceEnd without last_word_end' };
      return { kind: 'event', event: { type: 'utterance_end', timestamp: ts + timeBaseSec } };
    }
    case 'Metadata':
      return {
        kind: 'metadata',
        requestId: typeof msg.request_id === 'string' ? msg.request_id : undefined,
        durationSec: num(msg.duration),
      };
    default:
      return { kind: 'malformed', reason: typeof msg.type === 'string' ? 'unknown message type' : 'message without type' };
  }
}
