import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { startTracing, traceCalls } from '../../../src/wiring/call-tracing.ts';
import { FakeCalls, runtime } from './fake-calls.ts';

const ms = (t: [number, number]): number => t[0] * 1000 + t[1] / 1e6;

function setup(): { exporter: InMemorySpanExporter; calls: FakeCalls; finish: () => Promise<readonly ReadableSpan[]> } {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const calls = new FakeCalls();
  const off = traceCalls(calls, provider.getTracer('test'));
  return {
    exporter,
    calls,
    async finish() {
      off();
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    },
  };
}

function byName(spans: readonly ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

describe('call tracing from call events', () => {
  it('makes a call span with the SIP Call-ID, and turn, stt, llm, tts, playout and tool spans on the waterfall', async () => {
    const { calls, finish } = setup();
    const emit = calls.start('call-7', { legId: 'a84b4c76e66710@pc33.example' });
    const before = Date.now();
    emit({ type: 'answered', atMs: 0, agent: 'agent', medium: 'sip' });
    emit({ type: 'stt', status: { type: 'serving', provider: 'deepgram', sampleRate: 8000, encoding: 'mulaw' }, atMs: 5 });
    emit({ type: 'tool_finished', toolCallId: 't1', name: 'lookup_order', atMs: 1550, durationMs: 200, outcome: 'ok' });
    emit({ type: 'transcript', role: 'user', text: 'my card number is 4111', final: true, atMs: 1300 });
    emit(
      { type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 1000, sttFinalMs: 1100, decidedMs: 1300, llmFirstTokenMs: 1600, firstAudioMs: 1900, endedMs: 4000, bargeInMs: 3000, outcome: 'stop' } },
      { playout: { firstPacketOutMs: 1920 } },
    );
    emit({ type: 'tool_finished', toolCallId: 't2', name: 'transfer', atMs: 9000, durationMs: 100, outcome: 'error' });
    emit({ type: 'ended', end: { reason: 'remote-hangup' }, atMs: 10_000 });
    const spans = await finish();
    const [call] = byName(spans, 'call');
    expect(call?.attributes).toMatchObject({ 'callroom.call.id': 'call-7', 'sip.call_id': 'a84b4c76e66710@pc33.example', 'callroom.medium': 'sip', 'callroom.end.reason': 'remote-hangup' });
    const [turn] = byName(spans, 'turn');
    expect(turn?.parentSpanContext?.spanId).toBe(call?.spanContext().spanId);
    expect(turn?.spanContext().traceId).toBe(call?.spanContext().traceId);
    const answered = ms(turn!.startTime) - 1000;
    expect(answered).toBeGreaterThanOrEqual(before - 1);
    const rel = (s: ReadableSpan | undefined): [number, number] => [Math.round(ms(s!.startTime) - answered), Math.round(ms(s!.endTime) - answered)];
    expect(rel(turn)).toEqual([1000, 4000]);
    const child = (name: string): ReadableSpan | undefined => byName(spans, name).find((s) => s.parentSpanContext?.spanId === turn?.spanContext().spanId);
    expect(rel(child('stt'))).toEqual([1000, 1100]);
    expect(child('stt')?.attributes['callroom.provider']).toBe('deepgram');
    expect(rel(child('llm'))).toEqual([1300, 1600]);
    expect(child('llm')?.attributes['gen_ai.system']).toBe('openai');
    expect(rel(child('tts'))).toEqual([1600, 1900]);
    expect(rel(child('playout'))).toEqual([1900, 4000]);
    expect(child('playout')?.events.map((e) => [e.name, Math.round(ms(e.time) - answered)])).toEqual([
      ['first_packet', 1920],
      ['barge_in', 3000],
    ]);
    // The tool that ran inside the turn is its child; the later one hangs off the call.
    expect(rel(child('tool'))).toEqual([1350, 1550]);
    const late = byName(spans, 'tool').find((s) => s.parentSpanContext?.spanId === call?.spanContext().spanId);
    expect(late?.attributes).toMatchObject({ 'gen_ai.tool.name': 'transfer', 'callroom.tool.outcome': 'error' });
    // Nothing said on the call is in any span.
    // Span and event attributes and event names only: event times are epoch seconds, which can hold any digits.
    const said = JSON.stringify(spans.map((s) => [s.attributes, s.events.map((e) => [e.name, e.attributes ?? {}])]));
    expect(said).not.toContain('card number');
    expect(said).not.toContain('4111');
  });

  it('traces a speech-to-speech turn as one s2s span, and a WebSocket call without a SIP Call-ID', async () => {
    const { calls, finish } = setup();
    const emit = calls.start('ws-1', { medium: 'websocket', agent: runtime({ realtime: 'gemini-live' }) });
    emit({ type: 'answered', atMs: 0, agent: 'agent', medium: 'websocket' });
    emit({ type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 200, decidedMs: 250, firstAudioMs: 700, endedMs: 1500 } });
    emit({ type: 'ended', end: { reason: 'error', detail: 'socket vanished' }, atMs: 2000 });
    const spans = await finish();
    expect(byName(spans, 's2s')[0]?.attributes['gen_ai.system']).toBe('gemini-live');
    expect(byName(spans, 'llm')).toHaveLength(0);
    const [call] = byName(spans, 'call');
    expect(call?.attributes['sip.call_id']).toBeUndefined();
    expect(call?.status.code).toBe(2);
  });

  it('startTracing exports through the given exporter when closed, and samples by ratio', async () => {
    for (const [ratio, expected] of [
      [1, 1],
      [0, 0],
    ] as const) {
      // InMemorySpanExporter forgets its spans on shutdown: keep them here.
      const got: ReadableSpan[] = [];
      const exporter: SpanExporter = {
        export: (spans, done) => {
          got.push(...spans);
          done({ code: 0 });
        },
        shutdown: async () => undefined,
      };
      const calls = new FakeCalls();
      const tracing = startTracing(configSchema.parse({ tracing: { enabled: true, sampleRatio: ratio } }).tracing, calls, silentLogger(), exporter);
      const emit = calls.start(`c-${ratio}`);
      emit({ type: 'ended', end: { reason: 'cancelled', status: 487 }, atMs: 0 });
      await tracing.close();
      const spans = byName(got, 'call');
      expect(spans).toHaveLength(expected);
      if (expected === 1) expect(spans[0]?.attributes['sip.status_code']).toBe(487);
    }
  });
});
