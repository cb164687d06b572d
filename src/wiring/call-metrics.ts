/**
 * Prometheus metrics of calls, from the call manager's event stream (one listener for every call): calls by
 * medium (active, started, answered, ended by reason and SIP status, duration), each turn's latency waterfall as
 * per-stage histograms by provider (VAD endpointing, STT final, LLM first token, TTS first audio, speech-to-speech
 * first audio, first packet out, the whole turn), tool calls by name and outcome with their duration, barge-ins
 * and rejected false barge-ins, provider errors and fallbacks; and, read at scrape time, the SIP user agent's
 * drain and rate-limit refusals, live legs' jitter and recordings in progress.
 *
 * Labels are bounded: media, reasons, outcomes and providers come from small fixed or configured sets, tool
 * names are capped (the first `maxToolLabels` names seen keep theirs, the rest count as `other`), and nothing
 * carries a call id, a number or an address. SIP/RTP counters are in transports/sip/sip-metrics.ts, webhook
 * deliveries in api/webhooks, event-loop lag and heap in prom-client's default metrics.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AgentRuntime } from '../call/agent-runtime.ts';
import type { TurnTiming } from '../call/call-events.ts';
import type { CallLeg, LegEnd } from '../call/call-leg.ts';
import type { CallEventEnvelope } from '../call/call-manager.ts';
import type { Unsubscribe } from '../core/listeners.ts';

/** What the collector reads from the call manager. */
export interface MeteredCalls {
  onCallEvent(fn: (e: CallEventEnvelope) => void): Unsubscribe;
  session(callId: string): { readonly agent: AgentRuntime; readonly leg: CallLeg } | undefined;
  sessions(): ReadonlyArray<{ readonly leg: CallLeg }>;
  readonly draining: boolean;
}

export interface CallMetricsOptions {
  readonly registry: Registry;
  readonly calls: MeteredCalls;
  /** The VAD engine in use (`vad.engine`), for the endpointing histogram. */
  readonly vad?: string;
  /** Tool names with a label of their own, at most (default 50; the rest are `other`). */
  readonly maxToolLabels?: number;
  /** The SIP user agent's refusal counters. */
  readonly sip?: { readonly stats: { readonly rateLimited: number; readonly drainRefused: number } };
  /** Recordings being written. */
  readonly recordings?: { readonly activeCount: number };
}

export interface CallMetrics {
  /** A recording write failed (the recording store reports it). */
  recordingWriteFailed(): void;
  close(): void;
}

const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const PACKET_BUCKETS = [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28];
const TOOL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CALL_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/** Keeps a label's value set bounded: the first `max` values seen keep their name, later ones are `other`. */
export class LabelCap {
  readonly #max: number;
  readonly #seen = new Set<string>();

  constructor(max: number) {
    this.#max = max;
  }

  of(value: string): string {
    const v = value.length > 64 || value === '' ? 'other' : value;
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= this.#max) return 'other';
    this.#seen.add(v);
    return v;
  }
}

/** What the collector keeps per live call (dropped at its end). */
interface CallInfo {
  readonly medium: string;
  readonly realtime: string | undefined;
  readonly llm: string;
  tts: string;
  stt: string | undefined;
  /** Already counted as a call no recogniser could hear (the link retries, reporting it again). */
  deaf: boolean;
  answeredAt: number | undefined;
}

export function registerCallMetrics(o: CallMetricsOptions): CallMetrics {
  const registers = [o.registry];
  const tools = new LabelCap(o.maxToolLabels ?? 50);
  const providers = new LabelCap(32);
  const media = new LabelCap(16);
  const calls = new Map<string, CallInfo>();
  const lastCause = new Map<string, string>();
  const vad = o.vad ?? 'unknown';

  new Gauge({
    name: 'callroom_calls_active',
    help: 'Calls in progress, by medium.',
    labelNames: ['medium'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const s of o.calls.sessions()) counts.set(media.of(s.leg.medium), (counts.get(media.of(s.leg.medium)) ?? 0) + 1);
      for (const [medium, n] of counts) this.set({ medium }, n);
    },
  });
  new Gauge({
    name: 'callroom_draining',
    help: '1 while the gateway drains (takes no new calls), else 0.',
    registers,
    collect() {
      this.set(o.calls.draining ? 1 : 0);
    },
  });
  new Gauge({
    name: 'callroom_media_jitter_ms',
    help: 'Interarrival jitter of caller audio (RFC 3550) over the live calls whose medium reports it: mean and max.',
    labelNames: ['stat'],
    registers,
    collect() {
      let n = 0;
      let sum = 0;
      let max = 0;
      for (const s of o.calls.sessions()) {
        const j = s.leg.mediaStats()['jitterMs'];
        if (j === undefined || !Number.isFinite(j)) continue;
        n++;
        sum += j;
        max = Math.max(max, j);
      }
      this.set({ stat: 'mean' }, n === 0 ? 0 : sum / n);
      this.set({ stat: 'max' }, max);
    },
  });
  const started = new Counter({ name: 'callroom_calls_started_total', help: 'Calls started, by medium and direction.', labelNames: ['medium', 'direction'], registers });
  const answered = new Counter({ name: 'callroom_calls_answered_total', help: 'Calls answered, by medium.', labelNames: ['medium'], registers });
  const ended = new Counter({
    name: 'callroom_calls_ended_total',
    help: 'Calls ended, by medium, reason (caller/agent/API hang-up, max-duration, shutdown, transferred, cancelled, rejected, timeout, error) and SIP status (none when there was none).',
    labelNames: ['medium', 'reason', 'sip_status'],
    registers,
  });
  const duration = new Histogram({ name: 'callroom_call_duration_seconds', help: 'Answered calls, answer to end.', labelNames: ['medium'], buckets: CALL_BUCKETS, registers });
  const stage = (name: string, help: string, labelNames: string[], buckets = LATENCY_BUCKETS): Histogram => new Histogram({ name, help, labelNames, buckets, registers });
  const endpointing = stage('callroom_vad_endpointing_seconds', "Turns: the caller's speech end (VAD) to the turn decided.", ['vad']);
  const stt = stage('callroom_stt_final_seconds', "Turns: the caller's speech end to the last final transcript (0 when it came first).", ['provider']);
  const llm = stage('callroom_llm_first_token_seconds', "Turns: turn decided to the model's first token.", ['provider']);
  const tts = stage('callroom_tts_first_audio_seconds', "Turns: the model's first token to the reply's first audio written.", ['provider']);
  const s2s = stage('callroom_s2s_first_audio_seconds', "Speech-to-speech turns: the caller's speech end (or the turn decided) to the model's first audio.", ['provider']);
  const firstPacket = stage('callroom_first_packet_seconds', "Turns: the reply's first audio written to its first packet sent.", ['medium'], PACKET_BUCKETS);
  const turn = stage('callroom_turn_latency_seconds', "Turns: the caller's speech end (or the turn decided) to the reply's first packet (or first audio).", ['medium', 'mode']);
  const toolCalls = new Counter({ name: 'callroom_tool_calls_total', help: 'Tool calls, by tool (capped; the rest are other) and outcome.', labelNames: ['tool', 'outcome'], registers });
  const toolDuration = new Histogram({ name: 'callroom_tool_call_duration_seconds', help: 'Tool call duration, by tool and outcome.', labelNames: ['tool', 'outcome'], buckets: TOOL_BUCKETS, registers });
  const bargeIns = new Counter({ name: 'callroom_barge_ins_total', help: 'Caller speech that stopped the agent, by medium.', labelNames: ['medium'], registers });
  const falseBargeIns = new Counter({ name: 'callroom_false_barge_ins_total', help: 'Sounds over the agent not taken as barge-in, by why (echo of its own voice, too short).', labelNames: ['why'], registers });
  const providerErrors = new Counter({ name: 'callroom_provider_errors_total', help: 'Provider failures seen by calls, by kind (stt, tts, llm, s2s) and provider.', labelNames: ['kind', 'provider'], registers });
  const fallbacks = new Counter({ name: 'callroom_provider_fallbacks_total', help: 'Calls moved from one provider to the next, by kind.', labelNames: ['kind', 'from', 'to'], registers });
  const sttUnavailable = new Counter({ name: 'callroom_stt_unavailable_total', help: 'Calls that at some point no recogniser could hear (keypad only meanwhile; recognisers are retried).', registers });
  const recordingFailures = new Counter({ name: 'callroom_recording_write_failures_total', help: 'Recordings that stopped because a write failed (the call went on).', registers });
  if (o.recordings !== undefined) {
    const rec = o.recordings;
    new Gauge({
      name: 'callroom_recordings_active',
      help: 'Recordings being written.',
      registers,
      collect() {
        this.set(rec.activeCount);
      },
    });
  }
  if (o.sip !== undefined) {
    const sip = o.sip;
    collectedCounter(o.registry, 'callroom_sip_rate_limited_total', 'SIP requests outside a dialog over their source rate (sip.rateLimit): dropped or answered 503.', () => sip.stats.rateLimited);
    collectedCounter(o.registry, 'callroom_sip_drain_refused_total', 'SIP requests outside a dialog answered 503 while draining (OPTIONS probes included).', () => sip.stats.drainRefused);
  }

  const onEvent = (e: CallEventEnvelope): void => {
    const { event } = e;
    if (event.type === 'started') {
      const runtime = o.calls.session(e.callId)?.agent;
      const medium = media.of(e.medium);
      calls.set(e.callId, {
        medium,
        realtime: runtime?.realtime === undefined ? undefined : providers.of(runtime.realtime.name),
        llm: providers.of(runtime?.llm.name ?? 'unknown'),
        tts: providers.of(runtime?.tts[0]?.name ?? 'unknown'),
        stt: undefined,
        deaf: false,
        answeredAt: undefined,
      });
      started.inc({ medium, direction: e.origin.direction === 'outbound' ? 'outbound' : 'inbound' });
      return;
    }
    const call = calls.get(e.callId);
    if (call === undefined) return;
    switch (event.type) {
      case 'answered':
        call.answeredAt = performance.now();
        answered.inc({ medium: call.medium });
        return;
      case 'turn':
        observeTurn(call, event.timing, e.playout?.firstPacketOutMs);
        return;
      case 'tool_finished': {
        const labels = { tool: tools.of(event.name), outcome: event.outcome };
        toolCalls.inc(labels);
        toolDuration.observe(labels, Math.max(0, event.durationMs) / 1000);
        return;
      }
      case 'barge_in':
        bargeIns.inc({ medium: call.medium });
        return;
      case 'false_barge_in':
        falseBargeIns.inc({ why: event.why });
        return;
      case 'stt': {
        const s = event.status;
        if (s.type === 'serving') {
          const next = providers.of(s.provider);
          if (call.stt !== undefined && call.stt !== next) fallbacks.inc({ kind: 'stt', from: call.stt, to: next });
          call.stt = next;
        } else if (s.type === 'failed') {
          providerErrors.inc({ kind: 'stt', provider: providers.of(s.provider) });
        } else if (s.type === 'unavailable' && !call.deaf) {
          call.deaf = true;
          sttUnavailable.inc();
        }
        return;
      }
      case 'tts_failed': {
        const from = providers.of(event.provider);
        providerErrors.inc({ kind: 'tts', provider: from });
        if (event.next !== undefined) {
          const to = providers.of(event.next);
          fallbacks.inc({ kind: 'tts', from, to });
          call.tts = to;
        }
        return;
      }
      case 'llm_failed':
        providerErrors.inc(call.realtime === undefined ? { kind: 'llm', provider: call.llm } : { kind: 's2s', provider: call.realtime });
        return;
      case 'ended': {
        calls.delete(e.callId);
        ended.inc({ medium: call.medium, reason: endReason(event.end, lastCause.get(e.callId)), sip_status: sipStatus(event.end) });
        lastCause.delete(e.callId);
        if (call.answeredAt !== undefined) duration.observe({ medium: call.medium }, (performance.now() - call.answeredAt) / 1000);
        return;
      }
      case 'hangup_cause':
        lastCause.set(e.callId, event.cause);
        return;
      default:
        return;
    }
  };
  const observeTurn = (call: CallInfo, t: TurnTiming, measuredPacketMs: number | undefined): void => {
    const sec = (from: number | undefined, to: number | undefined): number | undefined =>
      from === undefined || to === undefined ? undefined : Math.max(0, to - from) / 1000;
    const observe = (h: Histogram, labels: Record<string, string>, v: number | undefined): void => {
      if (v !== undefined) h.observe(labels, v);
    };
    const start = t.speechEndMs ?? t.decidedMs;
    const packetMs = (t as TurnTiming & { readonly firstPacketMs?: number }).firstPacketMs ?? measuredPacketMs;
    observe(endpointing, { vad }, sec(t.speechEndMs, t.decidedMs));
    if (call.realtime !== undefined) {
      observe(s2s, { provider: call.realtime }, sec(start, t.firstAudioMs));
    } else {
      if (call.stt !== undefined) observe(stt, { provider: call.stt }, sec(t.speechEndMs, t.sttFinalMs));
      observe(llm, { provider: call.llm }, sec(t.decidedMs, t.llmFirstTokenMs));
      observe(tts, { provider: call.tts }, sec(t.llmFirstTokenMs, t.firstAudioMs));
    }
    observe(firstPacket, { medium: call.medium }, sec(t.firstAudioMs, packetMs));
    observe(turn, { medium: call.medium, mode: call.realtime === undefined ? 'cascade' : 's2s' }, sec(start, packetMs ?? t.firstAudioMs));
  };

  const off = o.calls.onCallEvent(onEvent);
  return {
    recordingWriteFailed() {
      recordingFailures.inc();
    },
    close() {
      off();
      calls.clear();
      lastCause.clear();
    },
  };
}

/** The end reason label: our hang-up's cause when we hung up, else how the leg ended. */
function endReason(end: LegEnd, cause: string | undefined): string {
  if (cause !== undefined && end.reason === 'local-hangup') return cause;
  return end.reason === 'remote-hangup' ? 'caller-hangup' : end.reason === 'local-hangup' ? 'agent-hangup' : end.reason;
}

function sipStatus(end: LegEnd): string {
  const s = end.status;
  return s !== undefined && Number.isInteger(s) && s >= 100 && s <= 699 ? String(s) : 'none';
}

function collectedCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
