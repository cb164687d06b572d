/**
 * A call record (`GET /calls/{id}`) drawn for a terminal: the call's facts, then each turn's latency waterfall
 * (every mark on one time axis, a bar from the mark before it), then the tool calls. Plain text, fixed width.
 */

/** The parts of the API's call resource this draws. */
export interface CallView {
  readonly id: string;
  readonly agentName: string;
  readonly medium: { readonly type: string; readonly direction?: string; readonly from?: string; readonly to?: string };
  readonly state: string;
  readonly createdAt: string;
  readonly answeredAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly durationMs: number | null;
  readonly toolCalls?: ReadonlyArray<{ readonly name: string; readonly startedAtMs: number; readonly durationMs: number; readonly outcome: string }>;
  readonly turns: ReadonlyArray<{
    readonly turn: number;
    readonly totalMs: number;
    readonly marks: ReadonlyArray<{ readonly name: string; readonly atMs: number; readonly sinceTurnStartMs: number; readonly sincePreviousMs: number }>;
  }>;
}

const LABELS: Readonly<Record<string, string>> = {
  speechEnd: 'caller speech end',
  sttFinal: 'STT final',
  turnDecided: 'turn decided',
  llmFirstToken: 'LLM first token',
  firstAudio: 'first TTS audio',
  firstPacket: 'first packet out',
  bargeIn: 'barge-in',
  ended: 'turn ended',
};

const ms = (v: number): string => `${Math.round(v).toLocaleString('en-US')} ms`;

/** The whole picture, `width` columns of bar (default 48). */
export function renderCall(call: CallView, width = 48): string {
  const out: string[] = [];
  const m = call.medium;
  const route = m.type === 'sip' ? ` ${m.direction ?? ''} ${m.from ?? ''} -> ${m.to ?? ''}`.trimEnd() : '';
  out.push(`call ${call.id}`);
  out.push(`  agent ${call.agentName} · ${m.type}${route}`);
  const duration = call.durationMs === null ? 'running' : `${(call.durationMs / 1000).toFixed(1)} s`;
  out.push(`  ${call.state}${call.endReason === null ? '' : ` (${call.endReason})`} · ${duration} · created ${call.createdAt}`);
  if (call.turns.length === 0) {
    out.push('', 'no turns');
  }
  // One scale for every turn, so turns compare at a glance.
  const longest = Math.max(1, ...call.turns.map((t) => t.totalMs));
  const labelWidth = Math.max(...Object.values(LABELS).map((l) => l.length), ...call.turns.flatMap((t) => t.marks.map((k) => (LABELS[k.name] ?? k.name).length)));
  for (const t of call.turns) {
    out.push('', `turn ${t.turn} · ${ms(t.totalMs)}`);
    for (const k of t.marks) {
      const label = (LABELS[k.name] ?? k.name).padEnd(labelWidth);
      const from = Math.round(((k.sinceTurnStartMs - k.sincePreviousMs) / longest) * width);
      const to = Math.round((k.sinceTurnStartMs / longest) * width);
      const bar = to > from ? '█'.repeat(to - from) : '▏';
      const delta = k.sincePreviousMs > 0 ? `  +${ms(k.sincePreviousMs)}` : '';
      out.push(`  ${label} ${ms(k.sinceTurnStartMs).padStart(10)} |${' '.repeat(from)}${bar}${' '.repeat(Math.max(0, width - from - bar.length))}|${delta}`);
    }
  }
  const tools = call.toolCalls ?? [];
  if (tools.length > 0) {
    out.push('', 'tool calls');
    for (const c of tools) out.push(`  ${c.name} · ${c.outcome} · ${ms(c.durationMs)} at ${ms(c.startedAtMs)}`);
  }
  return `${out.join('\n')}\n`;
}
