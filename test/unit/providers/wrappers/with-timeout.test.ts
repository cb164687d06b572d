import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import type { LlmEvent, LlmProvider, SttEvent } from '../../../../src/providers/types.ts';
import { TimeoutLlm, TimeoutStt, TimeoutTts } from '../../../../src/providers/wrappers/with-timeout.ts';
import { drain, ScriptedStt, ScriptedTts, words } from './fakes.ts';

const req = (text = 'a b c') => ({ text: words(text), sampleRate: 16000, encoding: 'pcm_s16le' as const });

describe('TimeoutTts', () => {
  it('throws a retryable CR_PROVIDER_TIMEOUT when the first chunk is late, even if the inner ignores abort', async () => {
    const inner = new ScriptedTts('slow', [{ hang: true, ignoreAbort: true }]);
    const t0 = Date.now();
    const err = await drain(new TimeoutTts(inner, { firstResultMs: 50 }).synthesize(req())).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('CR_PROVIDER_TIMEOUT');
    expect((err as ProviderError).retryable).toBe(true);
  });

  it('passes a timely stream through untouched', async () => {
    const out = await drain(new TimeoutTts(new ScriptedTts('ok', [{}]), { firstResultMs: 1000, totalMs: 2000 }).synthesize(req()));
    expect(out.map((c) => c.type)).toEqual(['audio', 'audio', 'audio', 'done']);
  });

  it('enforces the total deadline after the first chunk', async () => {
    const inner: LlmProvider = {
      name: 'dribble',
      async *stream(_r, signal): AsyncGenerator<LlmEvent> {
        for (let i = 0; i < 100 && !signal?.aborted; i++) {
          yield { type: 'text', delta: 'x' };
          await new Promise((r) => setTimeout(r, 20));
        }
      },
    };
    const got: LlmEvent[] = [];
    const err = await (async () => {
      for await (const e of new TimeoutLlm(inner, { firstResultMs: 100, totalMs: 120 }).stream({ messages: [] })) got.push(e);
    })().catch((e: unknown) => e);
    expect((err as ProviderError).code).toBe('CR_PROVIDER_TIMEOUT');
    expect(got.length).toBeGreaterThan(1);
    expect(got.length).toBeLessThan(20);
  });

  it('ends without an error when the caller aborts', async () => {
    const ac = new AbortController();
    const p = drain(new TimeoutTts(new ScriptedTts('slow', [{ hang: true }]), { firstResultMs: 5000 }).synthesize(req(), ac.signal));
    setTimeout(() => ac.abort(), 10);
    await expect(p).resolves.toEqual([]);
  });
});

describe('TimeoutStt', () => {
  it('bounds open() with a retryable timeout', async () => {
    const err = await new TimeoutStt(new ScriptedStt('s', ['hang']), { openMs: 30 }).open({ sampleRate: 8000 }).catch((e: unknown) => e);
    expect((err as ProviderError).code).toBe('CR_PROVIDER_TIMEOUT');
  });

  it('keeps the session bound to the caller signal after open', async () => {
    const inner = new ScriptedStt('s', ['ok']);
    const ac = new AbortController();
    const s = await new TimeoutStt(inner, { openMs: 1000 }).open({ sampleRate: 8000 }, ac.signal);
    ac.abort();
    const events = await drain(s.events());
    expect(events.map((e) => e.type)).toEqual(['closed']);
  });

  it('emits a retryable error and closes when no transcript follows finalize()', async () => {
    const inner = new ScriptedStt('s', ['ok']);
    const s = await new TimeoutStt(inner, { firstResultMs: 40 }).open({ sampleRate: 8000 });
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    s.finalize();
    const events: SttEvent[] = await drain(s.events());
    expect(events.map((e) => e.type)).toEqual(['error', 'closed']);
    expect(events[0]?.type === 'error' && events[0].retryable).toBe(true);
    expect(inner.sessions[0]?.closed).toBe(1);
  });

  it('stays quiet when the transcript is on time', async () => {
    const inner = new ScriptedStt('s', ['ok']);
    const s = await new TimeoutStt(inner, { firstResultMs: 40 }).open({ sampleRate: 8000 });
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    inner.sessions[0]!.channel.push({ type: 'transcript', text: 'hi', isFinal: true, speechFinal: true });
    await new Promise((r) => setTimeout(r, 80));
    await s.close();
    expect((await drain(s.events())).map((e) => e.type)).toEqual(['transcript', 'closed']);
  });

  it('does not time out a healthy session while the caller is silent', async () => {
    const inner = new ScriptedStt('s', ['ok']);
    const s = await new TimeoutStt(inner, { firstResultMs: 40 }).open({ sampleRate: 8000 });
    const events: SttEvent[] = [];
    const reading = (async () => {
      for await (const e of s.events()) events.push(e);
    })();
    // 200 ms of silence in 20 ms frames: no speech_started, no transcript, and nothing is owed.
    for (let i = 0; i < 10; i++) {
      s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: i * 20 });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(events).toEqual([]);
    expect(inner.sessions[0]?.closed).toBe(0);
    await s.close();
    await reading;
    expect(events.map((e) => e.type)).toEqual(['closed']);
  });

  it('starts the deadline at speech_started and fails when no transcript follows', async () => {
    const inner = new ScriptedStt('s', ['ok']);
    const s = await new TimeoutStt(inner, { firstResultMs: 40 }).open({ sampleRate: 8000 });
    s.write({ samples: new Int16Array(160), sampleRate: 8000, timestamp: 0 });
    await new Promise((r) => setTimeout(r, 80));
    inner.sessions[0]!.channel.push({ type: 'speech_started', timestamp: 0.08 });
    const events: SttEvent[] = await drain(s.events());
    expect(events.map((e) => e.type)).toEqual(['speech_started', 'error', 'closed']);
    expect(events[1]?.type === 'error' && (events[1].error as ProviderError).code).toBe('CR_PROVIDER_TIMEOUT');
  });
});
