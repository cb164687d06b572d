import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import { RetryingLlm, RetryingStt, RetryingTts } from '../../../../src/providers/wrappers/with-retry.ts';
import { drain, ScriptedLlm, ScriptedStt, ScriptedTts, words } from './fakes.ts';

const transient = () => new ProviderError('x', 'CR_PROVIDER_UNAVAILABLE', 'down', { retryable: true });
const fatal = () => new ProviderError('x', 'CR_PROVIDER_AUTH', 'no', { retryable: false });
const fast = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe('RetryingStt', () => {
  it('retries open() on retryable errors only', async () => {
    const inner = new ScriptedStt('s', [transient(), transient(), 'ok']);
    const s = await new RetryingStt(inner, fast).open({ sampleRate: 8000 });
    expect(inner.opens).toBe(3);
    await s.close();
    const denied = new ScriptedStt('s', [fatal(), 'ok']);
    await expect(new RetryingStt(denied, fast).open({ sampleRate: 8000 })).rejects.toMatchObject({ code: 'CR_PROVIDER_AUTH' });
    expect(denied.opens).toBe(1);
  });

  it('passes name and capabilities through', () => {
    const w = new RetryingStt(new ScriptedStt('inner', [], [16000]));
    expect(w.name).toBe('inner');
    expect(w.supportsSampleRate(8000)).toBe(false);
    expect(w.encodings).toEqual(['pcm_s16le']);
  });
});

describe('RetryingTts', () => {
  const req = (text: string) => ({ text: words(text), sampleRate: 16000, encoding: 'pcm_s16le' as const });

  it('retries a failure before the first chunk and replays the whole text', async () => {
    const inner = new ScriptedTts('t', [{ fail: transient() }, {}]);
    const out = await drain(new RetryingTts(inner, fast).synthesize(req('one two three')));
    expect(inner.calls).toBe(2);
    expect(inner.texts).toEqual(['one two three', 'one two three']);
    expect(out.filter((c) => c.type === 'audio')).toHaveLength(3);
    expect(out.at(-1)?.type).toBe('done');
  });

  it('does not retry once audio went out', async () => {
    const inner = new ScriptedTts('t', [{ fail: transient(), after: 1 }, {}]);
    const got: string[] = [];
    const err = await (async () => {
      for await (const c of new RetryingTts(inner, fast).synthesize(req('a b c'))) got.push(c.type);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(got).toEqual(['audio']);
    expect(inner.calls).toBe(1);
  });

  it('does not retry non-retryable errors, and bounds attempts', async () => {
    const denied = new ScriptedTts('t', [{ fail: fatal() }, {}]);
    await expect(drain(new RetryingTts(denied, fast).synthesize(req('a')))).rejects.toMatchObject({ code: 'CR_PROVIDER_AUTH' });
    expect(denied.calls).toBe(1);
    const down = new ScriptedTts('t', [{ fail: transient() }, { fail: transient() }, { fail: transient() }, {}]);
    await expect(drain(new RetryingTts(down, fast).synthesize(req('a')))).rejects.toMatchObject({ retryable: true });
    expect(down.calls).toBe(3);
  });

  it('ends quietly when aborted during the backoff', async () => {
    const ac = new AbortController();
    const inner = new ScriptedTts('t', [{ fail: transient() }, {}]);
    const p = drain(new RetryingTts(inner, { attempts: 3, baseDelayMs: 10_000, maxDelayMs: 10_000 }).synthesize(req('a'), ac.signal));
    setTimeout(() => ac.abort(), 10);
    await expect(p).resolves.toEqual([]);
    expect(inner.calls).toBe(1);
  });
});

describe('RetryingLlm', () => {
  it('retries before the first event only', async () => {
    const ok = new ScriptedLlm('m', [{ fail: transient() }, {}]);
    const out = await drain(new RetryingLlm(ok, fast).stream({ messages: [] }));
    expect(ok.calls).toBe(2);
    expect(out.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
    const late = new ScriptedLlm('m', [{ fail: transient(), after: 2 }, {}]);
    await expect(drain(new RetryingLlm(late, fast).stream({ messages: [] }))).rejects.toBeInstanceOf(ProviderError);
    expect(late.calls).toBe(1);
  });
});
