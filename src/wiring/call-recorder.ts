/**
 * Writes every call's record and sends its webhooks, from the call layer's events: the record is created
 * when the call starts (unless the API created it already), then answered and ended times, final
 * transcripts of both sides, tool calls with durations, and each turn's latency waterfall are appended;
 * webhooks get `call.started`, each transcript turn, tool calls and `call.ended` with the whole record.
 * Writes of one call are chained, so they land in order; a failed write is logged and counted and never
 * reaches the call.
 */
import type { Counter, Registry } from 'prom-client';
import { Counter as PromCounter } from 'prom-client';
import type { WebhookDispatcher } from '../api/webhooks/dispatcher.ts';
import type { CallEventEnvelope } from '../call/call-manager.ts';
import type { HangupCause, TurnTiming as CallTurnTiming } from '../call/call-events.ts';
import type { LegEnd } from '../call/call-leg.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { callEndedData, type CallMediumInfo, type TurnTiming } from '../storage/call-record.ts';
import type { Storage } from '../storage/types.ts';

/** What the API knew of a call it started, for its record. */
export interface KnownCall {
  readonly agentId: string | null;
  readonly medium: CallMediumInfo;
  readonly metadata: Readonly<Record<string, string>>;
  /** The record exists already (the API created it). */
  readonly created: boolean;
  /** Epoch ms the record was created at. */
  readonly createdAt: number;
}

interface Live {
  readonly createdAt: number;
  answeredAt: number | undefined;
  cause: HangupCause | undefined;
  chain: Promise<void>;
}

export class CallRecorder {
  readonly #storage: Storage;
  readonly #webhooks: WebhookDispatcher | undefined;
  readonly #logger: Logger;
  readonly #known = new Map<string, KnownCall>();
  readonly #live = new Map<string, Live>();
  readonly #failures: Counter;
  #pending = new Set<Promise<void>>();

  readonly #controlUrl: ((callId: string) => string | undefined) | undefined;
  readonly #storeContent: boolean;

  constructor(options: {
    storage: Storage;
    webhooks?: WebhookDispatcher;
    logger: Logger;
    metrics?: Registry;
    controlUrl?: (callId: string) => string | undefined;
    /** `privacy.storeContent`: false keeps transcripts out of records and webhooks (default true). */
    storeContent?: boolean;
  }) {
    this.#controlUrl = options.controlUrl;
    this.#storeContent = options.storeContent ?? true;
    this.#storage = options.storage;
    this.#webhooks = options.webhooks;
    this.#logger = options.logger.child({ component: 'call-records' });
    this.#failures = new PromCounter({
      name: 'callroom_call_record_write_failures_total',
      help: 'Call record writes that failed (the call went on; the record misses that part)',
      registers: options.metrics === undefined ? [] : [options.metrics],
    });
  }

  /** The API created this call's record (or will start it): use its agent id, medium and metadata. */
  know(callId: string, call: KnownCall): void {
    this.#known.set(callId, call);
  }

  /** Forget a call that never started (its dial failed); the API ends its record itself. */
  forget(callId: string): void {
    this.#known.delete(callId);
  }

  /** Resolves when every write queued so far has finished (shutdown). */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  readonly onCallEvent = (e: CallEventEnvelope): void => {
    const { callId, event } = e;
    if (event.type === 'started') {
      const known = this.#known.get(callId);
      this.#known.delete(callId);
      const createdAt = known?.createdAt ?? Date.now();
      const live: Live = { createdAt, answeredAt: undefined, cause: undefined, chain: Promise.resolve() };
      this.#live.set(callId, live);
      const medium: CallMediumInfo = known?.medium ?? {
        type: 'sip',
        direction: e.origin.direction,
        from: e.origin.from,
        to: e.origin.to,
        ...(e.origin.trunk === undefined ? {} : { trunk: e.origin.trunk }),
      };
      const agentId = known?.agentId ?? null;
      const metadata = known?.metadata ?? {};
      if (known?.created !== true) {
        this.#write(callId, () => this.#storage.calls.create({ id: callId, agentId, agentName: e.agent, medium, metadata, createdAt }));
      }
      const controlUrl = this.#webhooks === undefined ? undefined : this.#controlUrl?.(callId);
      this.#webhooks?.publish({ type: 'call.started', callId, data: { agentId, agentName: e.agent, medium, metadata, ...(controlUrl === undefined ? {} : { controlUrl }) } });
      return;
    }
    const live = this.#live.get(callId);
    if (live === undefined) return;
    const since = (atMs: number): number => (live.answeredAt === undefined ? atMs : live.answeredAt - live.createdAt + atMs);
    switch (event.type) {
      case 'answered': {
        const at = Date.now();
        live.answeredAt = at;
        this.#write(callId, () => this.#storage.calls.markAnswered(callId, at));
        return;
      }
      case 'transcript': {
        // Personal data: with privacy.storeContent off, what was said is neither stored nor sent.
        if (!event.final || event.text.trim() === '' || !this.#storeContent) return;
        const entry = { role: event.role, text: event.text, atMs: since(event.atMs), ...(event.interrupted === true ? { interrupted: true } : {}) };
        this.#write(callId, () => this.#storage.calls.appendTranscript(callId, entry));
        this.#webhooks?.publish({ type: 'call.transcript', callId, data: entry });
        return;
      }
      case 'tool_started':
        this.#webhooks?.publish({ type: 'call.tool', callId, data: { phase: 'started', toolCallId: event.toolCallId, name: event.name, startedAtMs: since(event.atMs) } });
        return;
      case 'tool_finished': {
        const entry = {
          toolCallId: event.toolCallId,
          name: event.name,
          startedAtMs: Math.max(0, since(event.atMs) - event.durationMs),
          durationMs: event.durationMs,
          outcome: event.outcome,
        };
        this.#write(callId, () => this.#storage.calls.appendToolCall(callId, entry));
        this.#webhooks?.publish({ type: 'call.tool', callId, data: { phase: 'finished', ...entry } });
        return;
      }
      case 'turn':
        this.#write(callId, () => this.#storage.calls.appendTurn(callId, turnMarks(event.timing, since, e.playout?.firstPacketOutMs)));
        return;
      case 'hangup_cause':
        live.cause = event.cause;
        return;
      case 'ended': {
        this.#live.delete(callId);
        const at = Date.now();
        const reason = endReason(event.end, live.cause, live.answeredAt !== undefined);
        this.#write(callId, async () => {
          await this.#storage.calls.markEnded(callId, at, reason);
          const record = await this.#storage.calls.get(callId);
          if (record !== undefined) this.#webhooks?.publish({ type: 'call.ended', callId, data: callEndedData(record, at, reason) });
        });
        return;
      }
      default:
        return;
    }
  };

  #write(callId: string, work: () => Promise<void>): void {
    const live = this.#live.get(callId);
    const before = live?.chain ?? Promise.resolve();
    const next = before.then(work).catch((err: unknown) => {
      this.#failures.inc();
      this.#logger.error({ callId, err: errorMessage(err) }, 'call record write failed');
    });
    if (live !== undefined) live.chain = next;
    this.#pending.add(next);
    void next.finally(() => this.#pending.delete(next));
  }
}

/** The call layer's turn timeline as named marks, on the record's clock. */
function turnMarks(t: CallTurnTiming, since: (atMs: number) => number, firstPacketOutMs: number | undefined): TurnTiming {
  const marks: Array<{ name: string; atMs: number }> = [];
  const add = (name: string, v: number | undefined): void => {
    if (v !== undefined) marks.push({ name, atMs: since(v) });
  };
  add('speechEnd', t.speechEndMs);
  add('sttFinal', t.sttFinalMs);
  add('turnDecided', t.decidedMs);
  add('llmFirstToken', t.llmFirstTokenMs);
  add('firstAudio', t.firstAudioMs);
  // The medium's own word (SIP: the spurt's first packet) first, else what the call manager saw played.
  add('firstPacket', t.firstPacketMs ?? firstPacketOutMs);
  add('bargeIn', t.bargeInMs);
  add('ended', t.endedMs);
  return { turn: t.turn, marks };
}

/** The record's end reason, in the API's words. */
function endReason(end: LegEnd, cause: HangupCause | undefined, answered: boolean): string {
  if (cause !== undefined && end.reason === 'local-hangup') return cause;
  switch (end.reason) {
    case 'remote-hangup':
      return 'caller-hangup';
    case 'local-hangup':
      return 'agent-hangup';
    case 'transferred':
      return 'transferred';
    case 'cancelled':
      return answered ? 'caller-hangup' : 'unanswered';
    case 'rejected':
      return 'rejected';
    case 'timeout':
      return answered ? 'failed' : 'unanswered';
    default:
      return 'failed';
  }
}
