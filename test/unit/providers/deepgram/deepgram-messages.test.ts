import { describe, expect, it } from 'vitest';
import { parseDeepgramMessage } from '../../../../src/providers/deepgram/deepgram-messages.ts';

const results = (over: Record<string, unknown> = {}, alt: Record<string, unknown> = {}) => ({
  type: 'Results',
  channel_index: [0, 1],
  start: 0,
  duration: 1,
  is_final: true,
  speech_final: true,
  channel: {
    alternatives: [
      {
        transcript: 'Hello world',
        confidence: 0.9,
        words: [
          { word: 'hello', punctuated_word: 'Hello', start: 0.1, end: 0.4, confidence: 0.95 },
          { word: 'world', start: 0.5, end: 0.9, confidence: 0.9 },
        ],
        ...alt,
      },
    ],
  },
  ...over,
});

describe('parseDeepgramMessage', () => {
  it('maps a final Results with words shifted by the time base', () => {
    const m = parseDeepgramMessage(results(), 10);
    expect(m).toEqual({
      kind: 'event',
      event: {
        type: 'transcript',
        text: 'Hello world',
        isFinal: true,
        speechFinal: true,
        confidence: 0.9,
        words: [
          { word: 'Hello', start: 10.1, end: 10.4, confidence: 0.95 },
          { word: 'world', start: 10.5, end: 10.9, confidence: 0.9 },
        ],
      },
    });
  });

  it('skips empty interims but keeps empty finals (they carry speech_final)', () => {
    expect(parseDeepgramMessage(results({ is_final: false }, { transcript: ' ' }), 0)).toEqual({ kind: 'skip' });
    const m = parseDeepgramMessage(results({}, { transcript: '', words: [] }), 0);
    expect(m.kind === 'event' && m.event.type === 'transcript' && m.event.speechFinal).toBe(true);
  });

  it('drops bad words instead of failing the message', () => {
    const m = parseDeepgramMessage(results({}, { words: [null, { word: 'x' }, { word: 'ok', start: 1, end: 2 }] }), 0);
    expect(m.kind === 'event' && m.event.type === 'transcript' && m.event.words).toEqual([{ word: 'ok', start: 1, end: 2 }]);
  });

  it('maps SpeechStarted, UtteranceEnd and Metadata', () => {
    expect(parseDeepgramMessage({ type: 'SpeechStarted', channel: [0], timestamp: 1.5 }, 2)).toEqual({
      kind: 'event',
      event: { type: 'speech_started', timestamp: 3.5 },
    });
    expect(parseDeepgramMessage({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 2.25 }, 0)).toEqual({
      kind: 'event',
      event: { type: 'utterance_end', timestamp: 2.25 },
    });
    expect(parseDeepgramMessage({ type: 'Metadata', request_id: 'r', duration: 3 }, 0)).toEqual({
      kind: 'metadata',
      requestId: 'r',
      durationSec: 3,
    });
  });

  it.each([
    ['{"type":', 'not JSON'],
    [[1, 2], 'not a JSON object'],
    [null, 'not a JSON object'],
    [{ type: 'Results' }, 'Results without channel.alternatives'],
    [{ type: 'Results', channel: { alternatives: [] } }, 'Results without a transcript'],
    [{ type: 'SpeechStarted', timestamp: 'x' }, 'SpeechStarted without timestamp'],
    [{ type: 'UtteranceEnd', last_word_end: Number.NaN }, 'UtteranceEnd without last_word_end'],
    [{ type: 'Nope' }, 'unknown message type'],
    [{}, 'message without type'],
  ])('classifies %j as malformed (%s)', (msg, reason) => {
    expect(parseDeepgramMessage(msg, 0)).toEqual({ kind: 'malformed', reason });
  });
});
