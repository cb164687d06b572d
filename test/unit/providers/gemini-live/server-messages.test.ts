import { describe, expect, it } from 'vitest';
import { parseLiveMessage } from '../../../../src/providers/gemini-live/server-messages.ts';

describe('Gemini Live server messages', () => {
  it('reads audio, transcripts, interruption and turn end in protocol order', () => {
    const { actions, problems } = parseLiveMessage({
      serverContent: {
        modelTurn: { parts: [{ text: 'thinking' }, { inlineData: { mimeType: 'audio/pcm;rate=24000', data: 'AAAA' } }] },
        outputTranscription: { text: 'hel' },
        inputTranscription: { text: 'hi', finished: true },
        interrupted: true,
        turnComplete: true,
      },
    });
    expect(problems).toEqual([]);
    expect(actions).toEqual([
      { kind: 'audio', base64: 'AAAA', sampleRate: 24000 },
      { kind: 'transcript', role: 'user', text: 'hi', finished: true },
      { kind: 'transcript', role: 'assistant', text: 'hel', finished: false },
      { kind: 'interrupted' },
      { kind: 'turn_complete' },
    ]);
  });

  it('serializes function call args, keeps ids, reads cancellations, goAway and handles', () => {
    expect(parseLiveMessage({ toolCall: { functionCalls: [{ id: 'a', name: 'f', args: { x: 1 } }, { name: 'g' }] } }).actions).toEqual([
      { kind: 'tool_calls', calls: [{ id: 'a', name: 'f', args: '{"x":1}' }, { id: undefined, name: 'g', args: '{}' }] },
    ]);
    expect(parseLiveMessage({ toolCallCancellation: { ids: ['a', 3, 'b'] } }).actions).toEqual([{ kind: 'tool_cancel', ids: ['a', 'b'] }]);
    expect(parseLiveMessage({ goAway: { timeLeft: '10s' } }).actions).toEqual([{ kind: 'go_away', timeLeft: '10s' }]);
    expect(parseLiveMessage({ sessionResumptionUpdate: { newHandle: 'h1', resumable: true } }).actions).toEqual([{ kind: 'resumption', handle: 'h1', resumable: true }]);
    expect(parseLiveMessage({ sessionResumptionUpdate: { newHandle: '', resumable: false } }).actions).toEqual([{ kind: 'resumption', handle: undefined, resumable: false }]);
    expect(parseLiveMessage({ voiceActivity: { voiceActivityType: 'ACTIVITY_START' } }).actions).toEqual([{ kind: 'speech', started: true }]);
    expect(parseLiveMessage({ usageMetadata: { totalTokenCount: 3 } })).toEqual({ actions: [], problems: [] });
  });

  it('reports malformed parts as problems, never throws', () => {
    const bad: unknown[] = [
      null,
      'x',
      [],
      {},
      { newThing: 1 },
      { serverContent: 'x' },
      { serverContent: { modelTurn: { parts: 'x' } } },
      { serverContent: { modelTurn: { parts: [{ inlineData: { data: 1, mimeType: 'audio/pcm' } }] } } },
      { serverContent: { outputTranscription: { text: 5 } } },
      { toolCall: { functionCalls: [{ id: 'x' }] } },
      { toolCall: {} },
      { toolCallCancellation: { ids: 'x' } },
      { sessionResumptionUpdate: 'x' },
    ];
    for (const b of bad) {
      const parsed = parseLiveMessage(b);
      expect(parsed.problems.length, JSON.stringify(b)).toBeGreaterThan(0);
      expect(parsed.actions.filter((a) => a.kind !== 'setup_complete')).toEqual([]);
    }
  });
});
