/** A stand-in for the call manager's event stream and session lookup, for the metrics and tracing tests. */
import type { AgentRuntime } from '../../../src/call/agent-runtime.ts';
import type { CallEvent } from '../../../src/call/call-events.ts';
import type { CallLeg } from '../../../src/call/call-leg.ts';
import type { CallEventEnvelope } from '../../../src/call/call-manager.ts';
import { Listeners } from '../../../src/core/listeners.ts';

interface FakeSession {
  readonly agent: AgentRuntime;
  readonly leg: CallLeg;
}

export function runtime(o: { llm?: string; tts?: string[]; realtime?: string } = {}): AgentRuntime {
  return {
    spec: { name: 'agent' },
    llm: { name: o.llm ?? 'openai' },
    stt: [],
    tts: (o.tts ?? ['elevenlabs', 'flite']).map((name) => ({ name })),
    tools: [],
    policy: {},
    ...(o.realtime === undefined ? {} : { realtime: { name: o.realtime } }),
  } as unknown as AgentRuntime;
}

export class FakeCalls {
  readonly #events = new Listeners<CallEventEnvelope>();
  readonly #sessions = new Map<string, FakeSession>();
  draining = false;

  onCallEvent(fn: (e: CallEventEnvelope) => void): () => void {
    return this.#events.add(fn);
  }

  session(callId: string): FakeSession | undefined {
    return this.#sessions.get(callId);
  }

  sessions(): FakeSession[] {
    return [...this.#sessions.values()];
  }

  /** A call that has started (its session exists, as in the manager). */
  start(callId: string, o: { medium?: string; legId?: string; agent?: AgentRuntime; jitterMs?: number; direction?: 'inbound' | 'outbound' } = {}): (event: CallEvent, extra?: Partial<CallEventEnvelope>) => void {
    const medium = o.medium ?? 'sip';
    const leg = { id: o.legId ?? callId, medium, mediaStats: () => (o.jitterMs === undefined ? {} : { jitterMs: o.jitterMs }) } as unknown as CallLeg;
    this.#sessions.set(callId, { agent: o.agent ?? runtime(), leg });
    const base = { callId, agent: 'agent', medium, origin: { direction: o.direction ?? 'inbound', from: 'sip:+15550001@x', to: 'sip:agent@y', dialled: 'agent' } } as const;
    const emit = (event: CallEvent, extra: Partial<CallEventEnvelope> = {}): void => {
      if (event.type === 'ended') this.#sessions.delete(callId);
      this.#events.emit({ ...base, event, ...extra });
    };
    emit({ type: 'started', atMs: 0 });
    return emit;
  }
}
