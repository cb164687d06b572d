/**
 * Reading the caller's text stream without outliving a cancellation: a pending `next()` on a
 * model's token stream cannot be cancelled, so the read is raced against the abort signal.
 */
import { ABORTED, raceAbort } from '../../core/abort.ts';

/** The iterator's next result, or 'aborted' as soon as `signal` aborts. */
export async function nextOrAbort<T>(it: AsyncIterator<T>, signal?: AbortSignal): Promise<IteratorResult<T> | 'aborted'> {
  const r = await raceAbort(it.next(), signal);
  return r === ABORTED ? 'aborted' : r;
}

/** All of the text, or undefined if `signal` aborted first. */
export async function collectText(text: AsyncIterable<string>, signal?: AbortSignal): Promise<string | undefined> {
  const it = text[Symbol.asyncIterator]();
  let out = '';
  for (;;) {
    const r = await nextOrAbort(it, signal);
    if (r === 'aborted') {
      void it.return?.()?.catch(() => undefined);
      return undefined;
    }
    if (r.done === true) return out;
    out += r.value;
  }
}
