import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/core/logger.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import { FallbackLlm, FallbackStt, FallbackTts, type SkippedProvider } from '../../../../src/providers/wrappers/fallback.ts';
import type { ProviderMetrics } from '../../../../src/providers/wrappers/provider-metrics.ts';
import { drain, ScriptedLlm, ScriptedStt, ScriptedTts, words } from './fakes.ts';

const transient = () => new ProviderError('x', 'CR_PROVIDER_UNAVAILABLE', 'down', { retryable: true });
const auth = () => ProviderError.fromStatus('x', 401, 'bad key');
const rejected = () => ProviderError.fromStatus('x', 400, 'bad request');

function recorder() {
  const fallbacks: string[] = [];
  const served: string[] = [];
  const metrics: ProviderMetrics = { onFallback: (e) => fallbacks.push(`${e.from}->${e.to}`) };
  return { fallbacks, served, metrics, onServed: (e: { provider: string }) => served.push(e.provider) };
}

describe('FallbackStt', () => {
  it('moves on after a retryable or auth failure and reports who served', async () => {
    const r = recorder();
    const a = new ScriptedStt('cloud', [auth()]);
    const b = new ScriptedStt('cloud2', [transient()]);
    const c = new ScriptedStt('offline', ['ok']);
    const fb = new FallbackStt([a, b, c], { metrics: r.metrics, onServed: r.onServed });
    const { session, provider } = await fb.openServed({ sampleRate: 16000 });
    expect(provider).toBe('offline');
    expect(r.fallbacks).toEqual(['cloud->cloud2', 'cloud2->offline']);
    expect(r.served).toEqual(['offline']);
    await session.close();
  });

  it('does not fall back on a request the next provider would reject too, and rethrows the last failure', async () => {
    const c = new ScriptedStt('offline', ['ok']);
    await expect(new FallbackStt([new ScriptedStt('a', [rejected()]), c]).open({ sampleRate: 16000 })).rejects.toMatchObject({
      code: 'CR_PROVIDER_REJECTED',
    });
    expect(c.opens).toBe(0);
    await expect(new FallbackStt([new ScriptedStt('a', [auth()]), new ScriptedStt('b', [transient()])]).open({ sampleRate: 16000 })).rejects.toMatchObject({
      code: 'CR_PROVIDER_UNAVAILABLE',
    });
  });

  it('skips providers that cannot serve the sample rate, saying so in the log', async () => {
    const lines: Array<{ msg: string; provider?: string }> = [];
    const logger = createLogger({ level: 'info', redactContent: false }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString())), cb()) }));
    const wideband = new ScriptedStt('pocketsphinx', ['ok'], [16000]);
    const narrow = new ScriptedStt('sherpa', ['ok'], [8000, 16000]);
    const fb = new FallbackStt([wideband, narrow], { logger });
    expect(fb.supportsSampleRate(8000)).toBe(true);
    expect((await fb.openServed({ sampleRate: 8000 })).provider).toBe('sherpa');
    expect(wideband.opens).toBe(0);
    expect(lines.some((l) => l.msg === 'fallback: provider skipped, cannot serve this format' && l.provider === 'pocketsphinx')).toBe(true);
    await expect(new FallbackStt([wideband]).open({ sampleRate: 8000 })).rejects.toMatchObject({ code: 'CR_PROVIDER_UNSUPPORTED', retryable: false });
  });
});

describe('FallbackStt skip reporting', () => {
  it('reports each skipped provider with its reason code, through onSkipped and onServed', async () => {
    const skipped: SkippedProvider[] = [];
    const served: Array<{ provider: string; skipped: readonly SkippedProvider[] }> = [];
    const wideband = new ScriptedStt('pocketsphinx', ['ok'], [16000, 48000]);
    const linearOnly = new ScriptedStt('linear-only', ['ok'], [8000, 16000], ['pcm_s16le']);
    const narrow = new ScriptedStt('sherpa', ['ok'], [8000, 16000], ['pcm_s16le', 'mulaw']);
    const fb = new FallbackStt([wideband, linearOnly, narrow], { onSkipped: (e) => skipped.push(e), onServed: (e) => served.push(e) });
    const r = await fb.openServed({ sampleRate: 8000, encoding: 'mulaw' });
    expect(skipped.map((e) => [e.provider, e.code])).toEqual([
      ['pocketsphinx', 'CR_STT_NARROWBAND_UNSUPPORTED'],
      ['linear-only', 'CR_STT_FORMAT'],
    ]);
    expect(r.skipped).toEqual(skipped);
    expect(served).toEqual([{ kind: 'stt', provider: 'sherpa', skipped }]);
    await r.session.close();
  });

  it('skips a provider whose open() refuses the audio (narrowband), naming the code, and tries the next', async () => {
    const refusal = new ProviderError('pocketsphinx', 'CR_STT_NARROWBAND_UNSUPPORTED', 'the en-us acoustic model is wideband');
    const skipped: SkippedProvider[] = [];
    const r = recorder();
    const fb = new FallbackStt([new ScriptedStt('pocketsphinx', [refusal]), new ScriptedStt('sherpa', ['ok'])], {
      metrics: r.metrics,
      onSkipped: (e) => skipped.push(e),
    });
    const { provider, session } = await fb.openServed({ sampleRate: 8000 });
    expect(provider).toBe('sherpa');
    expect(skipped).toEqual([{ kind: 'stt', provider: 'pocketsphinx', code: 'CR_STT_NARROWBAND_UNSUPPORTED', reason: refusal.message }]);
    // A refusal is not a provider failure.
    expect(r.fallbacks).toEqual([]);
    await session.close();
    // With nothing after it, the refusal itself is what the caller gets.
    await expect(new FallbackStt([new ScriptedStt('pocketsphinx', [refusal])]).open({ sampleRate: 8000 })).rejects.toBe(refusal);
  });
});

describe('FallbackTts', () => {
  const req = (text: string) => ({ text: words(text), sampleRate: 16000, encoding: 'pcm_s16le' as const });

  it('switches when the first chunk fails and gives the next provider the whole text', async () => {
    const r = recorder();
    const a = new ScriptedTts('cloud', [{ fail: transient() }]);
    const b = new ScriptedTts('offline', [{}]);
    const out = await drain(new FallbackTts([a, b], { metrics: r.metrics, onServed: r.onServed }).synthesize(req('hello there you')));
    expect(b.texts).toEqual(['hello there you']);
    expect(out.map((c) => c.type)).toEqual(['audio', 'audio', 'audio', 'done']);
    expect(r.served).toEqual(['offline']);
    expect(r.fallbacks).toEqual(['cloud->offline']);
  });

  it('never switches after audio went out', async () => {
    const b = new ScriptedTts('offline', [{}]);
    await expect(drain(new FallbackTts([new ScriptedTts('cloud', [{ fail: transient(), after: 1 }]), b]).synthesize(req('a b')))).rejects.toBeInstanceOf(ProviderError);
    expect(b.calls).toBe(0);
  });

  it('skips providers without the requested rate', async () => {
    const a = new ScriptedTts('24k-only', [{}], [24000]);
    const b = new ScriptedTts('16k', [{}], [16000]);
    await drain(new FallbackTts([a, b]).synthesize(req('x')));
    expect(a.calls).toBe(0);
    expect(b.calls).toBe(1);
  });
});

describe('FallbackLlm', () => {
  it('switches before the first event only', async () => {
    const out = await drain(new FallbackLlm([new ScriptedLlm('a', [{ fail: auth() }]), new ScriptedLlm('b', [{}])]).stream({ messages: [] }));
    expect(out[0]).toEqual({ type: 'text', delta: 'b0 ' });
  });
});
