import { describe, expect, it } from 'vitest';
import { historyReplay, MAX_REPLAY_CHARS, MAX_REPLAY_ITEMS } from '../../../../src/call/realtime/history-replay.ts';
import type { ChatMessage } from '../../../../src/providers/types.ts';

describe('historyReplay (the conversation told to a model session that starts without it)', () => {
  it('keeps the words in order and turns each tool outcome into a note with its arguments', () => {
    const history: ChatMessage[] = [
      { role: 'user', content: ' where is my order ' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'lookup_order', arguments: '{"order":"4567"}' }] },
      { role: 'tool', toolCallId: 'c1', name: 'lookup_order', content: '{"status":"shipped"}' },
      { role: 'assistant', content: 'It shipped yesterday' },
      { role: 'user', content: '   ' },
    ];
    expect(historyReplay(history)).toEqual([
      { role: 'user', text: 'where is my order' },
      { role: 'note', text: 'Earlier in this call the tool lookup_order was called with {"order":"4567"} and returned: {"status":"shipped"}' },
      { role: 'assistant', text: 'It shipped yesterday' },
    ]);
  });

  it('keeps only the newest items within the item and character bounds, and shortens long tool results', () => {
    const many: ChatMessage[] = Array.from({ length: 100 }, (_, i) => ({ role: 'user', content: `message ${i}` }));
    const kept = historyReplay(many);
    expect(kept).toHaveLength(MAX_REPLAY_ITEMS);
    expect(kept.at(-1)?.text).toBe('message 99');
    const long: ChatMessage[] = Array.from({ length: 10 }, (_, i) => ({ role: 'assistant', content: `${i}`.repeat(3000) }));
    const cut = historyReplay(long);
    expect(cut.reduce((n, item) => n + item.text.length, 0)).toBeLessThanOrEqual(MAX_REPLAY_CHARS);
    expect(cut.at(-1)?.text.startsWith('9')).toBe(true);
    const big = historyReplay([{ role: 'tool', toolCallId: 'x', name: 'dump', content: 'y'.repeat(5000) }]);
    expect(big[0]?.text.length).toBeLessThan(1200);
    expect(big[0]?.text.endsWith('…')).toBe(true);
  });

  it('an empty history replays nothing', () => {
    expect(historyReplay([])).toEqual([]);
  });
});
