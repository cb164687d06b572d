/**
 * OpenTelemetry traces of calls, built from the call manager's event stream after the fact: one `call` span
 * per call (the Callroom call id and, on SIP, the SIP Call-ID), a `turn` span per turn with `stt`, `llm`,
 * `tts` (or `s2s` for speech-to-speech) and `playout` children laid on the turn's latency waterfall, and a
 * `tool` span per tool call (under the turn it ran in). Spans carry explicit start and end times taken from
 * the waterfall, so nothing is timed twice and the call path does no tracing work of its own.
 *
 * No transcript, digit or tool argument goes into a span: only names, providers, outcomes and times.
 * `startTracing` builds the SDK (OTLP over HTTP, sampled by `tracing.sampleRatio`); `traceCalls` takes any
 * tracer (tests give one that exports to memory).
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { AgentRuntime } from '../call/agent-runtime.ts';
import type { TurnTiming } from '../call/call-events.ts';
import type { CallLeg } from '../call/call-leg.ts';
import type { CallEventEnvelope } from '../call/call-manager.ts';
import type { Config } from '../config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { Unsubscribe } from '../core/listeners.ts';
import type { Logger } from '../core/logger.ts';
import { VERSION } from '../version.ts';

/** What the tracer reads from the call manager. */
export interface TracedCalls {
  onCallEvent(fn: (e: CallEventEnvelope) => void): Unsubscribe;
  session(callId: string): { readonly agent: AgentRuntime; readonly leg: Pick<CallLeg, 'id'> } | undefined;
}

export interface CallTracing {
  /** Stop following calls, export what is pending and shut the exporter down. */
  close(): Promise<void>;
}

/** The SDK with an OTLP/HTTP exporter (or `exporter`, for tests), following `calls`. */
export function startTracing(config: Config['tracing'], calls: TracedCalls, logger: Logger, exporter?: SpanExporter): CallTracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': VERSION }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: exporter ?? new OTLPTraceExporter({ url: config.otlpUrl, headers: { ...config.headersSecret }, timeoutMillis: 10_000 }),
        maxQueueSize: 8192,
        scheduledDelayMillis: 2_000,
      }),
    ],
  });
  const off = traceCalls(calls, provider.getTracer('callroom', VERSION));
  logger.info({ otlpUrl: config.otlpUrl, sampleRatio: config.sampleRatio }, 'call tracing on');
  return {
    async close() {
      off();
      try {
        await provider.forceFlush();
        await provider.shutdown();
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'trace export failed at shutdown');
      }
    },
  };
}

interface ToolDone {
  readonly name: string;
  readonly outcome: string;
  readonly start: number;
  readonly end: number;
}

interface Traced {
  readonly span: Span;
  readonly realtime: string | undefined;
  readonly llm: string;
  tts: string;
  stt: string | undefined;
  /** Wall-clock ms of the answer (the session's call clock starts there). */
  answeredAt: number | undefined;
  tools: ToolDone[];
  cause: string | undefined;
}

const MAX_PENDING_TOOLS = 200;

/** Follow `calls` and turn their events into spans on `tracer`; returns the unsubscribe. */
export function traceCalls(calls: TracedCalls, tracer: Tracer): Unsubscribe {
  const live = new Map<string, Traced>();
  return calls.onCallEvent((e) => {
    const { event } = e;
    if (event.type === 'started') {
      const session = calls.session(e.callId);
      const runtime = session?.agent;
      const attributes: Attributes = {
        'callroom.call.id': e.callId,
        'callroom.medium': e.medium,
        'callroom.agent': e.agent,
        'callroom.direction': e.origin.direction,
      };
      if (e.medium === 'sip' && session !== undefined) attributes['sip.call_id'] = session.leg.id;
      if (e.origin.trunk !== undefined) attributes['callroom.sip.trunk'] = e.origin.trunk;
      const span = tracer.startSpan('call', { kind: SpanKind.SERVER, startTime: Date.now(), attributes });
      live.set(e.callId, {
        span,
        realtime: runtime?.realtime?.name,
        llm: runtime?.llm.name ?? 'unknown',
        tts: runtime?.tts[0]?.name ?? 'unknown',
        stt: undefined,
        answeredAt: undefined,
        tools: [],
        cause: undefined,
      });
      return;
    }
    const t = live.get(e.callId);
    if (t === undefined) return;
    const at = (ms: number): number => (t.answeredAt ?? Date.now()) + ms;
    switch (event.type) {
      case 'answered':
        t.answeredAt = Date.now();
        t.span.addEvent('answered', t.answeredAt);
        return;
      case 'turn':
        if (t.answeredAt !== undefined) traceTurn(tracer, t, event.timing, e.playout?.firstPacketOutMs);
        return;
      case 'tool_finished':
        if (t.tools.length < MAX_PENDING_TOOLS) t.tools.push({ name: event.name, outcome: event.outcome, start: at(event.atMs - event.durationMs), end: at(event.atMs) });
        return;
      case 'barge_in':
        t.span.addEvent('barge_in', { 'callroom.dropped_ms': event.droppedMs }, at(event.atMs));
        return;
      case 'false_barge_in':
        t.span.addEvent('false_barge_in', { 'callroom.why': event.why }, at(event.atMs));
        return;
      case 'stt':
        if (event.status.type === 'serving') t.stt = event.status.provider;
        if (event.status.type === 'failed') t.span.addEvent('stt_failed', { 'callroom.provider': event.status.provider, 'callroom.will_retry': event.status.willRetry }, at(event.atMs));
        if (event.status.type === 'unavailable') t.span.addEvent('stt_unavailable', at(event.atMs));
        return;
      case 'tts_failed':
        t.span.addEvent('tts_failed', { 'callroom.provider': event.provider, ...(event.next === undefined ? {} : { 'callroom.next': event.next }) }, at(event.atMs));
        if (event.next !== undefined) t.tts = event.next;
        return;
      case 'llm_failed':
        t.span.addEvent('llm_failed', { 'callroom.provider': t.realtime ?? t.llm }, at(event.atMs));
        return;
      case 'hangup_cause':
        t.cause = event.cause;
        return;
      case 'ended': {
        live.delete(e.callId);
        const parent = trace.setSpan(context.active(), t.span);
        for (const tool of t.tools) toolSpan(tracer, tool, parent);
        const end = event.end;
        t.span.setAttribute('callroom.end.reason', t.cause !== undefined && end.reason === 'local-hangup' ? t.cause : end.reason);
        if (end.status !== undefined) t.span.setAttribute('sip.status_code', end.status);
        if (end.reason === 'error') t.span.setStatus({ code: SpanStatusCode.ERROR, message: 'the call failed' });
        t.span.end(Date.now());
        return;
      }
      default:
        return;
    }
  });
}

function traceTurn(tracer: Tracer, t: Traced, timing: TurnTiming, measuredPacketMs: number | undefined): void {
  const base = t.answeredAt as number;
  const w = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : base + ms);
  const speechEnd = w(timing.speechEndMs);
  const decided = w(timing.decidedMs) as number;
  const sttFinal = w(timing.sttFinalMs);
  const firstToken = w(timing.llmFirstTokenMs);
  const firstAudio = w(timing.firstAudioMs);
  const firstPacket = w((timing as TurnTiming & { readonly firstPacketMs?: number }).firstPacketMs ?? measuredPacketMs);
  const ended = w(timing.endedMs) ?? Date.now();
  const start = Math.min(speechEnd ?? decided, sttFinal ?? decided, decided);
  const turn = tracer.startSpan(
    'turn',
    { startTime: start, attributes: { 'callroom.turn': timing.turn, 'callroom.turn.source': timing.source, ...(timing.outcome === undefined ? {} : { 'callroom.turn.outcome': timing.outcome }) } },
    trace.setSpan(context.active(), t.span),
  );
  const ctx = trace.setSpan(context.active(), turn);
  const child = (name: string, from: number | undefined, to: number | undefined, attributes: Attributes = {}): Span | undefined => {
    if (from === undefined || to === undefined) return undefined;
    const s = tracer.startSpan(name, { startTime: Math.min(from, to), attributes }, ctx);
    s.end(Math.max(from, to));
    return s;
  };
  if (t.realtime !== undefined) {
    child('s2s', speechEnd ?? decided, firstAudio, { 'gen_ai.system': t.realtime });
  } else {
    if (t.stt !== undefined) child('stt', speechEnd, sttFinal, { 'callroom.provider': t.stt });
    const llm = tracer.startSpan('llm', { startTime: decided, attributes: { 'gen_ai.system': t.llm, ...(timing.outcome === undefined ? {} : { 'callroom.outcome': timing.outcome }) } }, ctx);
    if (firstToken !== undefined) llm.addEvent('first_token', firstToken);
    if (timing.outcome === 'error' || timing.outcome === 'timeout') llm.setStatus({ code: SpanStatusCode.ERROR, message: timing.outcome });
    llm.end(firstToken ?? Math.max(decided, firstAudio ?? ended));
    child('tts', firstToken ?? decided, firstAudio, { 'callroom.provider': t.tts });
  }
  if (firstAudio !== undefined) {
    const playout = tracer.startSpan('playout', { startTime: firstAudio }, ctx);
    if (firstPacket !== undefined) playout.addEvent('first_packet', firstPacket);
    const bargeIn = w(timing.bargeInMs);
    if (bargeIn !== undefined) playout.addEvent('barge_in', bargeIn);
    playout.end(Math.max(firstAudio, ended));
  }
  // Tool calls that ran within this turn go under it.
  const mine = t.tools.filter((x) => x.start >= start - 1 && x.end <= ended + 1);
  t.tools = t.tools.filter((x) => !mine.includes(x));
  for (const tool of mine) toolSpan(tracer, tool, ctx);
  turn.end(Math.max(start, ended));
}

function toolSpan(tracer: Tracer, tool: ToolDone, parent: ReturnType<typeof context.active>): void {
  const s = tracer.startSpan('tool', { startTime: tool.start, attributes: { 'gen_ai.tool.name': tool.name, 'callroom.tool.outcome': tool.outcome } }, parent);
  if (tool.outcome !== 'ok') s.setStatus({ code: SpanStatusCode.ERROR, message: tool.outcome });
  s.end(tool.end);
}
