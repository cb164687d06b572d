/**
 * The built-in demo agent's "model": no neural network, a few intents recognised by keywords and keypad
 * digits, so a new user hears the whole loop (speech in, a tool call, speech out) work offline on any
 * machine. It is named as a demo in the README and in its own greeting; replace it with a real model
 * (`llm.provider: openai` with any OpenAI-compatible server, or `gemini`) for anything else.
 *
 * Intents: order status ("order", "package", "delivery", key 1) calls `check_order_status` with the
 * order number the caller said ("four five six seven") or asks for one; the time ("time", "clock",
 * key 2) calls `get_time`; goodbye ("bye", "that's all", key 9) says goodbye and calls `hangUp`.
 */
import { AbortedError } from '../../core/errors.ts';
import type { ChatMessage, LlmEvent, LlmProvider, LlmRequest, ToolCall } from '../types.ts';

const NUMBER_WORDS: Readonly<Record<string, string>> = {
  zero: '0', oh: '0', o: '0', one: '1', won: '1', two: '2', to: '2', too: '2', three: '3', four: '4', for: '4', fore: '4',
  five: '5', six: '6', seven: '7', eight: '8', ate: '8', nine: '9',
};

/** Digits said or typed in `text` ("order four five six seven", "order 4567"), in order. */
export function spokenDigits(text: string): string {
  let out = '';
  for (const word of text.toLowerCase().split(/[^a-z0-9]+/)) {
    if (/^[0-9]+$/.test(word)) out += word;
    else if (word in NUMBER_WORDS && out.length > 0) out += NUMBER_WORDS[word];
    else if (word in NUMBER_WORDS && !['to', 'too', 'for', 'fore', 'o', 'oh', 'won', 'ate'].includes(word)) out += NUMBER_WORDS[word];
  }
  return out;
}

type Intent = 'order' | 'time' | 'bye' | 'unknown';

function intentOf(text: string): Intent {
  const t = text.toLowerCase();
  const keys = /\[the caller pressed ([0-9*# ]+)/.exec(t)?.[1]?.replace(/\s+/g, '') ?? '';
  if (keys.startsWith('1')) return 'order';
  if (keys.startsWith('2')) return 'time';
  if (keys.startsWith('9')) return 'bye';
  if (/\b(order|package|parcel|delivery|deliver|shipping|shipped|status)\b/.test(t)) return 'order';
  if (/\b(time|clock|hour)\b/.test(t)) return 'time';
  if (/\b(bye|goodbye|good bye|that's all|that is all|hang up|nothing else)\b/.test(t)) return 'bye';
  return 'unknown';
}

export class DemoLlm implements LlmProvider {
  readonly name = 'demo';
  #calls = 0;

  async *stream(request: LlmRequest, signal?: AbortSignal): AsyncIterable<LlmEvent> {
    if (signal?.aborted) throw new AbortedError();
    const offered = new Set((request.tools ?? []).map((t) => t.name));
    const history = request.messages;
    const last = history[history.length - 1];
    let reply: { text: string; call?: ToolCall };
    if (last?.role === 'tool') reply = { text: afterTool(last) };
    else reply = this.#answer(history, offered);
    // Stream it in word-sized pieces, as a model would.
    for (const piece of reply.text.match(/\S+\s*/g) ?? []) {
      if (signal?.aborted) throw new AbortedError();
      yield { type: 'text', delta: piece };
      await new Promise((r) => setImmediate(r));
    }
    if (reply.call !== undefined) yield { type: 'tool_call', call: reply.call };
    yield { type: 'done', finishReason: reply.call === undefined ? 'stop' : 'tool_calls' };
  }

  #answer(history: readonly ChatMessage[], offered: ReadonlySet<string>): { text: string; call?: ToolCall } {
    const user = [...history].reverse().find((m) => m.role === 'user' && !m.content.startsWith('[System'));
    const text = user?.content ?? '';
    const previous = [...history].reverse().find((m) => m.role === 'assistant');
    const askedForNumber = previous?.content.includes('order number') === true && !previous.content.includes('Order ');
    let intent = intentOf(text);
    const digits = spokenDigits(text.replace(/\[the caller pressed[^\]]*\]/i, (m) => (askedForNumber ? m : '')));
    if (intent === 'unknown' && askedForNumber && digits.length >= 3) intent = 'order';
    const id = (): string => `demo_${++this.#calls}`;
    switch (intent) {
      case 'order':
        if (digits.length >= 3 && offered.has('check_order_status')) {
          return { text: 'Let me check that order. ', call: { id: id(), name: 'check_order_status', arguments: JSON.stringify({ orderNumber: digits }) } };
        }
        return { text: 'Sure. What is your order number? You can say it or type it on the keypad, then press pound.' };
      case 'time':
        if (offered.has('get_time')) return { text: '', call: { id: id(), name: 'get_time', arguments: '{}' } };
        return { text: 'I cannot read the clock right now.' };
      case 'bye':
        if (offered.has('hangUp')) return { text: 'Thank you for calling. Goodbye! ', call: { id: id(), name: 'hangUp', arguments: JSON.stringify({ reason: 'caller said goodbye' }) } };
        return { text: 'Thank you for calling. Goodbye!' };
      default:
        return { text: 'Sorry, this demo only knows two things. Say order status, or ask for the time. You can also press 1 or 2.' };
    }
  }
}

/** The sentence after a tool result. */
function afterTool(result: Extract<ChatMessage, { role: 'tool' }>): string {
  let data: Record<string, unknown> = {};
  try {
    data = JSON.parse(result.content) as Record<string, unknown>;
  } catch {
    // Not JSON: read it out as is.
    return `The system says: ${result.content.slice(0, 200)}`;
  }
  if (typeof data['error'] === 'string') return `Sorry, that did not work: ${data['error']}.`;
  if (result.name === 'check_order_status') {
    const spaced = String(data['orderNumber'] ?? '').split('').join(' ');
    return `Order ${spaced} is ${String(data['status'] ?? 'unknown')}. Anything else?`;
  }
  if (result.name === 'get_time') return `It is ${String(data['spoken'] ?? data['time'] ?? 'unknown')}. Anything else?`;
  if (result.name === 'hangUp') return '';
  return 'Done. Anything else?';
}
