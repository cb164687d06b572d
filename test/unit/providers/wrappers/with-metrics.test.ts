import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import { MeteredLlm, MeteredStt, MeteredTts } from '../../../../src/providers/wrappers/with-metrics.ts';
import type { ProviderMetrics } from '../../../../src/providers/wrappers/provider-metrics.ts';
import { drain, ScriptedLlm, ScriptedStt, ScriptedTts, words } from './fakes.ts';

function recorder() {
  const log: string[] = [];
  const latencies: number[] = [];
  const metrics: ProviderMetrics = {
    onRequest: (e) => log.push(`request ${e.kind} ${e.provider}`),
    onFirstResult: (e) => (log.push(`first ${e.kind}`), latencies.push(e.latencyMs)),
    onError: (e) => log.push(`error ${e.kind} retryable=${e.retryable}`),
  };
  return { log, latencies, metrics };
}

describe('metrics wrappers', () => {
  it('TTS: request, first audio latency, error', async () => {
    const r = recorder();
    await drain(new MeteredTts(new ScriptedTts('t', [{}]), r.metrics).synthesize({ text: words('a b'), sampleRate: 16000, encoding: 'pcm_s16le' }));
    const failing = new MeteredTts(new ScriptedTts('t', [{ fail: ProviderError.fromStatus('t', 503, 'x') }]), r.metrics);
    await drain(failing.synthesize({ text: words('a'), sampleRate: 16000, encoding: 'pcm_s16le' })).catch(() => undefined);
    expect(r.log).toEqual(['request tts t', 'first tts', 'request tts t', 'error tts retryable=true']);
    expect(r.latencies[0]).toBeGreaterThanOrEqual(0);
  });

  it('STT: first transcript latency from the first audio, error events, open failures', async () => {
    const r = recorder();
    const inner = new ScriptedStt('s', ['ok', ProviderError.fromStatus('s', 401, 'no')]);
    const m = new MeteredStt(inner, r.metrics);
    const s = await m.open({ sampleRate: 8000 });
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    const ch = inner.sessions[0]!.channel;
    ch.push({ type: 'transcript', text: 'a', isFinal: false, speechFinal: false });
    ch.push({ type: 'transcript', text: 'a b', isFinal: true, speechFinal: true });
    ch.push({ type: 'error', error: new Error('x'), retryable: true });
    await s.close();
    expect((await drain(s.events())).map((e) => e.type)).toEqual(['transcript', 'transcript', 'error', 'closed']);
    await m.open({ sampleRate: 8000 }).catch(() => undefined);
    expect(r.log).toEqual(['request stt s', 'first stt', 'error stt retryable=true', 'request stt s', 'error stt retryable=false']);
  });

  it('LLM: first event, and a throwing metrics sink does not break the stream', async () => {
    const broken: ProviderMetrics = {
      onRequest: () => {
        throw new Error('sink down');
      },
    };
    const out = await drain(new MeteredLlm(new ScriptedLlm('m', [{}]), broken).stream({ messages: [] }));
    expect(out.at(-1)?.type).toBe('done');
  });
});
