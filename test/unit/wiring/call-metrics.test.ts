import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerCallMetrics } from '../../../src/wiring/call-metrics.ts';
import { FakeCalls, runtime } from './fake-calls.ts';

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const got = await metric.get();
  const want = Object.entries(labels);
  const values = got.values as Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>;
  return values.find((v) => (v.metricName === undefined || v.metricName === name) && want.every(([k, x]) => String(v.labels[k]) === x))?.value;
}

async function histogramCount(registry: Registry, name: string, labels: Record<string, string>): Promise<{ count: number; sum: number }> {
  const got = await registry.getSingleMetric(name)!.get();
  const match = (v: { labels: Record<string, unknown>; metricName?: string }, suffix: string): boolean =>
    v.metricName === `${name}${suffix}` && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x);
  const count = got.values.find((v) => match(v as never, '_count'))?.value ?? 0;
  const sum = got.values.find((v) => match(v as never, '_sum'))?.value ?? 0;
  return { count, sum };
}

describe('call metrics from call events', () => {
  it('counts a cascade call: medium, end reason and SIP status, the turn waterfall by provider, tools, barge-ins, faults', async () => {
    const registry = new Registry();
    const calls = new FakeCalls();
    const sip = { stats: { rateLimited: 7, drainRefused: 2 } };
    const recordings = { activeCount: 1 };
    const m = registerCallMetrics({ registry, calls, vad: 'silero', sip, recordings });
    const emit = calls.start('call-secret-id-1', { jitterMs: 12 });
    emit({ type: 'answered', atMs: 0, agent: 'agent', medium: 'sip' });
    emit({ type: 'stt', status: { type: 'serving', provider: 'deepgram', sampleRate: 8000, encoding: 'mulaw' }, atMs: 10 });
    expect(await sample(registry, 'callroom_calls_active', { medium: 'sip' })).toBe(1);
    expect(await sample(registry, 'callroom_media_jitter_ms', { stat: 'max' })).toBe(12);
    emit({ type: 'tool_finished', toolCallId: 't1', name: 'lookup_order', atMs: 1500, durationMs: 250, outcome: 'ok' });
    emit(
      { type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 1000, sttFinalMs: 1100, decidedMs: 1300, llmFirstTokenMs: 1600, firstAudioMs: 1900, endedMs: 4000, outcome: 'stop' } },
      { playout: { firstPacketOutMs: 1920 } },
    );
    emit({ type: 'barge_in', atMs: 3000, droppedMs: 800 });
    emit({ type: 'false_barge_in', why: 'echo', atMs: 3500 });
    emit({ type: 'tts_failed', provider: 'elevenlabs', error: 'boom', next: 'flite', atMs: 5000 });
    emit({ type: 'stt', status: { type: 'failed', provider: 'deepgram', error: 'dropped', willRetry: false }, atMs: 6000 });
    emit({ type: 'stt', status: { type: 'serving', provider: 'pocketsphinx', sampleRate: 16000, encoding: 'pcm_s16le' }, atMs: 6100 });
    // Every recogniser down: the link reports it at each retry; the call counts once.
    emit({ type: 'stt', status: { type: 'unavailable', sampleRate: 16000 }, atMs: 6500 });
    emit({ type: 'stt', status: { type: 'unavailable', sampleRate: 16000 }, atMs: 6600 });
    emit({ type: 'llm_failed', error: 'timeout', atMs: 7000 });
    emit({ type: 'hangup_cause', cause: 'agent-hangup' });
    emit({ type: 'ended', end: { reason: 'local-hangup' }, atMs: 8000 });

    expect(await sample(registry, 'callroom_calls_started_total', { medium: 'sip', direction: 'inbound' })).toBe(1);
    expect(await sample(registry, 'callroom_calls_answered_total', { medium: 'sip' })).toBe(1);
    expect(await sample(registry, 'callroom_calls_ended_total', { medium: 'sip', reason: 'agent-hangup', sip_status: 'none' })).toBe(1);
    expect(await sample(registry, 'callroom_calls_active', { medium: 'sip' })).toBeUndefined();
    expect(await histogramCount(registry, 'callroom_vad_endpointing_seconds', { vad: 'silero' })).toEqual({ count: 1, sum: 0.3 });
    expect(await histogramCount(registry, 'callroom_stt_final_seconds', { provider: 'deepgram' })).toEqual({ count: 1, sum: 0.1 });
    expect(await histogramCount(registry, 'callroom_llm_first_token_seconds', { provider: 'openai' })).toEqual({ count: 1, sum: 0.3 });
    expect(await histogramCount(registry, 'callroom_tts_first_audio_seconds', { provider: 'elevenlabs' })).toEqual({ count: 1, sum: 0.3 });
    expect(await histogramCount(registry, 'callroom_first_packet_seconds', { medium: 'sip' })).toEqual({ count: 1, sum: 0.02 });
    expect(await histogramCount(registry, 'callroom_turn_latency_seconds', { medium: 'sip', mode: 'cascade' })).toEqual({ count: 1, sum: 0.92 });
    expect(await sample(registry, 'callroom_tool_calls_total', { tool: 'lookup_order', outcome: 'ok' })).toBe(1);
    expect(await histogramCount(registry, 'callroom_tool_call_duration_seconds', { tool: 'lookup_order', outcome: 'ok' })).toEqual({ count: 1, sum: 0.25 });
    expect(await sample(registry, 'callroom_barge_ins_total', { medium: 'sip' })).toBe(1);
    expect(await sample(registry, 'callroom_false_barge_ins_total', { why: 'echo' })).toBe(1);
    expect(await sample(registry, 'callroom_provider_errors_total', { kind: 'tts', provider: 'elevenlabs' })).toBe(1);
    expect(await sample(registry, 'callroom_provider_errors_total', { kind: 'stt', provider: 'deepgram' })).toBe(1);
    expect(await sample(registry, 'callroom_provider_errors_total', { kind: 'llm', provider: 'openai' })).toBe(1);
    expect(await sample(registry, 'callroom_provider_fallbacks_total', { kind: 'tts', from: 'elevenlabs', to: 'flite' })).toBe(1);
    expect(await sample(registry, 'callroom_provider_fallbacks_total', { kind: 'stt', from: 'deepgram', to: 'pocketsphinx' })).toBe(1);
    expect(await sample(registry, 'callroom_stt_unavailable_total')).toBe(1);
    expect(await histogramCount(registry, 'callroom_call_duration_seconds', { medium: 'sip' }).then((h) => h.count)).toBe(1);
    expect(await sample(registry, 'callroom_sip_rate_limited_total')).toBe(7);
    expect(await sample(registry, 'callroom_sip_drain_refused_total')).toBe(2);
    expect(await sample(registry, 'callroom_recordings_active')).toBe(1);
    m.recordingWriteFailed();
    expect(await sample(registry, 'callroom_recording_write_failures_total')).toBe(1);
    // Nothing identifies the call or the caller.
    const text = await registry.metrics();
    expect(text).not.toContain('call-secret-id-1');
    expect(text).not.toContain('15550001');
    m.close();
  });

  it('times speech-to-speech turns by model, and the SIP status of a call that failed', async () => {
    const registry = new Registry();
    const calls = new FakeCalls();
    registerCallMetrics({ registry, calls });
    const emit = calls.start('c2', { medium: 'twilio', agent: runtime({ realtime: 'openai-realtime' }) });
    emit({ type: 'answered', atMs: 0, agent: 'agent', medium: 'twilio' });
    emit({ type: 'turn', timing: { turn: 1, source: 'speech', speechEndMs: 500, decidedMs: 700, firstAudioMs: 1100, endedMs: 2000 } });
    emit({ type: 'llm_failed', error: 'model dropped', atMs: 2500 });
    emit({ type: 'ended', end: { reason: 'error', status: 503 }, atMs: 3000 });
    expect(await histogramCount(registry, 'callroom_s2s_first_audio_seconds', { provider: 'openai-realtime' })).toEqual({ count: 1, sum: 0.6 });
    expect(await histogramCount(registry, 'callroom_turn_latency_seconds', { medium: 'twilio', mode: 's2s' })).toEqual({ count: 1, sum: 0.6 });
    expect(await histogramCount(registry, 'callroom_llm_first_token_seconds', {})).toEqual({ count: 0, sum: 0 });
    expect(await sample(registry, 'callroom_provider_errors_total', { kind: 's2s', provider: 'openai-realtime' })).toBe(1);
    expect(await sample(registry, 'callroom_calls_ended_total', { medium: 'twilio', reason: 'error', sip_status: '503' })).toBe(1);
  });

  it('caps tool names: past the cap they count as other', async () => {
    const registry = new Registry();
    const calls = new FakeCalls();
    registerCallMetrics({ registry, calls, maxToolLabels: 5 });
    const emit = calls.start('c3');
    for (let i = 0; i < 40; i++) emit({ type: 'tool_finished', toolCallId: `t${i}`, name: `made_up_tool_${i}`, atMs: i, durationMs: 1, outcome: 'refused' });
    const values = (await registry.getSingleMetric('callroom_tool_calls_total')!.get()).values;
    expect(new Set(values.map((v) => v.labels.tool))).toEqual(new Set(['made_up_tool_0', 'made_up_tool_1', 'made_up_tool_2', 'made_up_tool_3', 'made_up_tool_4', 'other']));
    expect(values.find((v) => v.labels.tool === 'other')?.value).toBe(35);
  });

  it('has event-loop lag and heap from the default metrics beside them', async () => {
    const { collectDefaultMetrics } = await import('prom-client');
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    registerCallMetrics({ registry, calls: new FakeCalls() });
    const text = await registry.metrics();
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(/^callroom_draining 0$/m);
  });
});
