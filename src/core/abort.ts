import { AbortedError } from './errors.ts';

/** Resolve after `ms`, or reject with AbortedError when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A signal that aborts when any of the inputs does (undefined inputs ignored). */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return AbortSignal.any(present);
}

/** What {@link raceAbort} gives when the signal wins. */
export const ABORTED: unique symbol = Symbol('aborted');

/**
 * Wait for `work`, but no longer than until `signal` aborts: then resolve with {@link ABORTED} at once and
 * leave `work` to settle alone (its rejection is swallowed, so it never counts as unhandled). The one race
 * between an uncancellable promise (a pending `next()` on a model's token stream, a consumer's backpressure)
 * and a cancellation; callers turn ABORTED into whatever they need (an AbortedError, a plain return).
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.resolve(ABORTED);
  }
  return new Promise<T | typeof ABORTED>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      resolve(ABORTED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
