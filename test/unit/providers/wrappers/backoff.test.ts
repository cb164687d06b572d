import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../src/core/clock.ts';
import { AbortedError } from '../../../../src/core/errors.ts';
import { ProviderError } from '../../../../src/providers/provider-error.ts';
import { backoffDelay, retry } from '../../../../src/providers/wrappers/backoff.ts';

const transient = () => new ProviderError('x', 'CR_PROVIDER_UNAVAILABLE', 'down', { retryable: true });
const fatal = () => new ProviderError('x', 'CR_PROVIDER_AUTH', 'no', { retryable: false });
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('backoffDelay', () => {
  it('doubles from the base, caps at the max, and jitters within [50%, 100%]', () => {
    const p = { attempts: 9, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, p, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, p, () => 0)).toBe(200);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, p);
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(200);
    }
  });
});

describe('retry', () => {
  it('retries retryable ProviderErrors with backoff on the clock, then succeeds', async () => {
    const clock = new FakeClock();
    const delays: number[] = [];
    let calls = 0;
    const p = retry(
      async () => {
        calls++;
        if (calls < 3) throw transient();
        return 'ok';
      },
      { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000, clock, random: () => 1, onRetry: (_a, _e, d) => delays.push(d) },
    );
    await settle();
    expect(calls).toBe(1);
    clock.advance(100);
    await settle();
    expect(calls).toBe(2);
    clock.advance(200);
    await expect(p).resolves.toBe('ok');
    expect(delays).toEqual([100, 200]);
  });

  it('gives up after the bounded attempts with the last error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(async () => {
      calls++;
      throw transient();
    }, { attempts: 2, baseDelayMs: 10, clock });
    const caught = p.catch((e: unknown) => e);
    await settle();
    clock.advance(10);
    const err = await caught;
    expect(calls).toBe(2);
    expect((err as ProviderError).code).toBe('CR_PROVIDER_UNAVAILABLE');
  });

  it('never retries a non-retryable error or a plain Error', async () => {
    for (const e of [fatal(), new Error('bug')]) {
      let calls = 0;
      await expect(
        retry(async () => {
          calls++;
          throw e;
        }, { attempts: 5, baseDelayMs: 1 }),
      ).rejects.toBe(e);
      expect(calls).toBe(1);
    }
  });

  it('stops waiting when aborted', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = retry(async () => {
      throw transient();
    }, { attempts: 5, baseDelayMs: 1000, clock }, ac.signal);
    const caught = p.catch((e: unknown) => e);
    await settle();
    ac.abort();
    expect(await caught).toBeInstanceOf(AbortedError);
    expect(clock.pending).toBe(0);
  });
});
