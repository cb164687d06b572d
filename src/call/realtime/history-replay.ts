/**
 * What a model session that starts without the call's context (reopened after a drop, or reconnected
 * without resumption) is told of the call so far: the room's history as it was heard — the caller's words,
 * the agent's words cut to what played — and each tool's outcome as a note, the newest kept within a bound
 * (a long call must not make the new session's first request huge).
 */
import type { ChatMessage, RealtimeHistoryItem } from '../../providers/types.ts';

export const MAX_REPLAY_ITEMS = 40;
export const MAX_REPLAY_CHARS = 12_000;
/** A tool result longer than this is shortened in its note. */
const MAX_RESULT_CHARS = 1_000;

export function historyReplay(history: readonly ChatMessage[]): RealtimeHistoryItem[] {
  const items: RealtimeHistoryItem[] = [];
  const calls = new Map<string, { name: string; args: string }>();
  for (const m of history) {
    if (m.role === 'user' && m.content.trim() !== '') items.push({ role: 'user', text: m.content.trim() });
    else if (m.role === 'assistant') {
      if (m.content.trim() !== '') items.push({ role: 'assistant', text: m.content.trim() });
      for (const c of m.toolCalls ?? []) calls.set(c.id, { name: c.name, args: c.arguments });
    } else if (m.role === 'tool') {
      const call = calls.get(m.toolCallId);
      const result = m.content.length > MAX_RESULT_CHARS ? `${m.content.slice(0, MAX_RESULT_CHARS)}…` : m.content;
      items.push({ role: 'note', text: `Earlier in this call the tool ${m.name} was called with ${call?.args ?? '{}'} and returned: ${result}` });
    }
  }
  let chars = 0;
  let start = items.length;
  while (start > 0 && items.length - start < MAX_REPLAY_ITEMS) {
    const next = (items[start - 1] as RealtimeHistoryItem).text.length;
    if (chars + next > MAX_REPLAY_CHARS) break;
    chars += next;
    start--;
  }
  return items.slice(start);
}
