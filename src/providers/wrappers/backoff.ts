/**
 * Exponential backoff with jitter, and the retry loop the provider wrappers share. Only a
 * `ProviderError` marked retryable is retried: a 401 or a bad request fails the same way every time.
 */
import { systemClock, type Clock } from '../../core/clock.ts';
import { AbortedError } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';

export interface RetryPolicy {
  /** Total attempts including the first (>= 1). */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 200, maxDelayMs: 2000 };

export function isRetryable(err: unknown): boolean {
  return err instanceof ProviderError && err.retryable;
}

/**
 * Delay before attempt `attempt + 1` (attempt counts from 1): base * 2^(attempt-1), capped, then
 * scaled into [50%, 100%] by `random` ("equal jitter": spreads retries without ever going to ~0).
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return exp * (0.5 + random() / 2);
}

/** Wait `ms` on `clock`; rejects with AbortedError when `signal` aborts first. */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = (): void => {
      clock.clearTimeout(t);
      reject(new AbortedError());
    };
    const t = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions extends Partial<RetryPolicy> {
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Called before each wait: the failed attempt number, its error and the delay. */
  readonly onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
}

/** Run `fn` until it succeeds, fails with a non-retryable error, runs out of attempts or is aborted. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}, signal?: AbortSignal): Promise<T> {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options };
  const clock = options.clock ?? systemClock();
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.attempts || signal?.aborted === true) throw err;
      const delay = backoffDelay(attempt, policy, options.random);
      options.onRetry?.(attempt, err, delay);
      await sleepOn(clock, delay, signal);
    }
  }
}
