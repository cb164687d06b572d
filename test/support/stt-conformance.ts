/**
 * Shared conformance suite for every `SttProvider` adapter (cloud or offline).
 *
 * Usage, inside a test file (start your fixtures with beforeAll/afterAll around the call; the
 * factories are called lazily inside each test, so they may read a port set in beforeAll):
 *
 * ```ts
 * runSttConformance({
 *   name: 'pocketsphinx',
 *   createProvider: () => new PocketsphinxStt({ ... }),
 *   sessionOptions: { sampleRate: 16000 },                 // add encoding: 'mulaw' to feed via writeEncoded
 *   feedUtterance: async (session) => { for (const f of frames) session.write(f); },
 *   expectText: 'i would like to check the status of my order',  // or (text) => expect(text).toMatch(...)
 *   maxWordErrorRate: 0.1,                                 // optional, default 0 (exact words)
 *   faults: [{ name: 'bad model dir', when: 'open', create: () => ..., retryable: false }],
 * });
 * ```
 *
 * What every adapter must do (each is one test):
 * - `supportsSampleRate(sessionOptions.sampleRate)` is true; `name` is set; `encodings` lists the
 *   session encoding when one is given.
 * - Basic: feed the utterance, `close()`; the final transcripts joined by spaces match `expectText`;
 *   no 'error' event; 'closed' is the last event, exactly once, and then `events()` ends.
 * - Ordering: the last transcript is final (a final comes after its interims); interims never follow
 *   the last final; `utterance_end` never comes before the first transcript.
 * - `finalize()` yields a final transcript for the audio so far without closing the session.
 * - The AbortSignal given to `open()` bounds the session: aborting it ends `events()` promptly
 *   (within `abortWithinMs`, default 1500) with 'closed' and no 'error'; `close()` afterwards resolves.
 *   An already-aborted signal makes `open()` reject with `AbortedError`.
 * - `close()` is idempotent (concurrent and repeated calls resolve); `write`, `writeEncoded`,
 *   `keepAlive` and `finalize` after close neither throw nor emit.
 * - No leaks: sockets, timers and child processes return to the baseline after close and after abort,
 *   and so do the counts `activeResources()` reports (worker threads and native decoder pools, which
 *   `process.getActiveResourcesInfo()` does not show).
 * - Two sessions run at the same time and both transcribe.
 * - `events()` has one consumer; `speech_started`/`utterance_end` timestamps are seconds of session
 *   audio, like `WordTiming` (not checked here, but every adapter should follow it).
 * - Faults: `when: 'open'` -> `open()` rejects with a `ProviderError` whose `retryable` (and `code`,
 *   if given) match; `when: 'stream'` -> open succeeds, the fed utterance ends in an 'error' event
 *   carrying a `ProviderError` with that `retryable`, followed by 'closed'.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/core/errors.ts';
import { ProviderError } from '../../src/providers/provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttSessionOptions } from '../../src/providers/types.ts';
import { wordErrorRate } from '../../src/providers/word-error-rate.ts';

export { normalizeWords, wordErrorRate } from '../../src/providers/word-error-rate.ts';

export interface SttFault {
  readonly name: string;
  /** Where the failure shows: `open()` rejects, or an 'error' event while streaming. */
  readonly when: 'open' | 'stream';
  /** A provider wired to fail (e.g. a fake server told to answer 401, or a bad model dir). */
  createProvider(): SttProvider | Promise<SttProvider>;
  readonly retryable: boolean;
  /** Expected `ProviderError.code`, e.g. 'CR_PROVIDER_AUTH'. */
  readonly code?: string;
}

export interface SttConformanceHarness {
  readonly name: string;
  /** A fresh provider; called once per test (twice in the concurrency test is fine too). */
  createProvider(): SttProvider | Promise<SttProvider>;
  readonly sessionOptions: SttSessionOptions;
  /** Write a known utterance into the session (pace it or not, as the engine needs). Does not close. */
  feedUtterance(session: SttSession, options: SttSessionOptions): Promise<void>;
  /** The expected final text, compared as lower-case words without punctuation; or an oracle that asserts. */
  readonly expectText: string | ((finalText: string) => void);
  /** Word error rate allowed when `expectText` is a string (default 0). */
  readonly maxWordErrorRate?: number;
  /** How long to wait for results (default 15 000 ms). */
  readonly resultTimeoutMs?: number;
  /** How promptly an abort must end the session (default 1500 ms). */
  readonly abortWithinMs?: number;
  /** How long resources may take to return to the baseline (default 2000 ms); false skips leak checks. */
  readonly leakSettleMs?: number | false;
  /**
   * Counts of the adapter's own resources that must come back to their starting value once a session
   * has ended, e.g. `{ decodersInUse: pool.inUse }` or a worker pool's busy workers and pending jobs.
   */
  activeResources?(): Readonly<Record<string, number>>;
  readonly faults?: readonly SttFault[];
}

/** An adapter's own resource counts (see `activeResources` on the harnesses). */
export type ResourceCounter = () => Readonly<Record<string, number>>;

// ---------------------------------------------------------------------------------------------
// Helpers shared with tts-conformance.ts
// ---------------------------------------------------------------------------------------------

/** Resource types whose counts must come back to the baseline once a session or synthesis ends. */
const WATCHED = new Set(['TCPSocketWrap', 'TCPWrap', 'Timeout', 'ProcessWrap', 'UDPWrap', 'PipeWrap']);

/**
 * Counts of watched active resources (sockets, timers, child processes) by type, plus the adapter's
 * own counts from `extra` (worker threads and native pools do not show among the active resources).
 */
export function resourceSnapshot(extra?: ResourceCounter): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (WATCHED.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  for (const [name, n] of Object.entries(extra?.() ?? {})) counts.set(`adapter:${name}`, n);
  return counts;
}

/**
 * A baseline snapshot taken once the counts stopped changing for `quietMs` (sockets of a session
 * that just ended are still closing for a few ticks), or after `maxMs`.
 */
export async function settledSnapshot(quietMs = 100, maxMs = 2000, extra?: ResourceCounter): Promise<Map<string, number>> {
  const key = (m: Map<string, number>): string => JSON.stringify([...m].sort());
  const deadline = Date.now() + maxMs;
  let last = resourceSnapshot(extra);
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    const now = resourceSnapshot(extra);
    if (key(now) !== key(last)) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      break;
    }
  }
  return last;
}

/**
 * Wait until no watched resource type is above `base` (a socket closes a tick or two after its
 * peer). Resolves to the types still grown after `settleMs`, as "Type: base -> now" (empty = no leak).
 */
export async function resourcesGrownAfter(base: Map<string, number>, settleMs: number, extra?: ResourceCounter): Promise<string[]> {
  const deadline = Date.now() + settleMs;
  for (;;) {
    const grown: string[] = [];
    for (const [type, n] of resourceSnapshot(extra)) {
      const b = base.get(type) ?? 0;
      if (n > b) grown.push(`${type}: ${b} -> ${n}`);
    }
    if (grown.length === 0 || Date.now() >= deadline) return grown;
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
  }
}

/** Resolve with `promise`, or reject after `ms` naming what did not happen in time. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// STT helpers
// ---------------------------------------------------------------------------------------------

/** Collects a session's events as they come; `ended` resolves when `events()` finishes. */
export interface SttEventLog {
  readonly events: SttEvent[];
  readonly ended: Promise<void>;
  /** Resolves with the first event matching `pred` (already seen or future). */
  waitFor(pred: (e: SttEvent) => boolean): Promise<SttEvent>;
}

export function collectSttEvents(session: SttSession): SttEventLog {
  const events: SttEvent[] = [];
  const waiters: Array<{ pred: (e: SttEvent) => boolean; resolve: (e: SttEvent) => void }> = [];
  const ended = (async () => {
    for await (const e of session.events()) {
      events.push(e);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i];
        if (w !== undefined && w.pred(e)) {
          waiters.splice(i, 1);
          w.resolve(e);
        }
      }
    }
  })();
  return {
    events,
    ended,
    waitFor(pred) {
      const seen = events.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** Final transcripts joined by single spaces. */
export function finalText(events: readonly SttEvent[]): string {
  return events
    .flatMap((e) => (e.type === 'transcript' && e.isFinal && e.text.trim() !== '' ? [e.text.trim()] : []))
    .join(' ');
}

function assertText(h: SttConformanceHarness, text: string): void {
  if (typeof h.expectText === 'function') {
    h.expectText(text);
    return;
  }
  const wer = wordErrorRate(h.expectText, text);
  expect(wer, `transcript "${text}" vs expected "${h.expectText}"`).toBeLessThanOrEqual(h.maxWordErrorRate ?? 0);
}

/** Shape checks every event stream must pass once `events()` ended. */
export function assertSttOrdering(events: readonly SttEvent[]): void {
  const closedAt = events.findIndex((e) => e.type === 'closed');
  expect(closedAt, 'a closed event').toBeGreaterThanOrEqual(0);
  expect(closedAt, "'closed' is the last event").toBe(events.length - 1);
  expect(events.filter((e) => e.type === 'closed')).toHaveLength(1);
  const transcripts = events.filter((e) => e.type === 'transcript');
  const last = transcripts.at(-1);
  if (last !== undefined && last.type === 'transcript') expect(last.isFinal, 'the last transcript is final').toBe(true);
  const firstTranscript = events.findIndex((e) => e.type === 'transcript');
  const firstUtteranceEnd = events.findIndex((e) => e.type === 'utterance_end');
  if (firstUtteranceEnd >= 0) expect(firstUtteranceEnd, 'utterance_end after a transcript').toBeGreaterThan(firstTranscript);
  for (const e of events) {
    if (e.type === 'transcript' && e.words !== undefined) {
      for (const w of e.words) expect(w.end, `word "${w.word}" timing`).toBeGreaterThanOrEqual(w.start);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

/** Register the STT conformance tests for one adapter configuration. */
export function runSttConformance(h: SttConformanceHarness): void {
  const resultTimeout = h.resultTimeoutMs ?? 15_000;
  const abortWithin = h.abortWithinMs ?? 1500;
  const opts = h.sessionOptions;

  const extra: ResourceCounter | undefined = h.activeResources?.bind(h);
  const settled = (): Promise<Map<string, number>> => settledSnapshot(100, 2000, extra);

  async function leakCheck(base: Map<string, number>): Promise<void> {
    if (h.leakSettleMs === false) return;
    expect(await resourcesGrownAfter(base, h.leakSettleMs ?? 2000, extra), 'resources left open').toEqual([]);
  }

  describe(`STT conformance: ${h.name}`, () => {
    it('advertises its sample rate and encodings', async () => {
      const provider = await h.createProvider();
      expect(provider.name.length).toBeGreaterThan(0);
      expect(provider.supportsSampleRate(opts.sampleRate)).toBe(true);
      if (opts.encoding !== undefined) expect(provider.encodings).toContain(opts.encoding);
    });

    it('transcribes a known utterance, finals in order and closed last', async () => {
      const provider = await h.createProvider();
      const session = await provider.open(opts);
      const log = collectSttEvents(session);
      await h.feedUtterance(session, opts);
      await within(resultTimeout, 'close()', session.close());
      await within(resultTimeout, 'events() to end', log.ended);
      expect(log.events.filter((e) => e.type === 'error')).toEqual([]);
      assertSttOrdering(log.events);
      assertText(h, finalText(log.events));
    });

    it('finalize() yields a final transcript without closing', async () => {
      const provider = await h.createProvider();
      const session = await provider.open(opts);
      const log = collectSttEvents(session);
      await h.feedUtterance(session, opts);
      session.finalize();
      await within(resultTimeout, 'a final transcript after finalize()', log.waitFor((e) => e.type === 'transcript' && e.isFinal));
      expect(log.events.some((e) => e.type === 'closed')).toBe(false);
      await session.close();
      await log.ended;
      assertSttOrdering(log.events);
      assertText(h, finalText(log.events));
    });

    it('aborting the open() signal ends the session promptly without leaks', async () => {
      const provider = await h.createProvider();
      // Warm up once so lazily created pools/modules are part of the baseline, not counted as leaks.
      const warm = await provider.open(opts);
      const warmLog = collectSttEvents(warm);
      await warm.close();
      await warmLog.ended;
      const base = await settled();
      const ac = new AbortController();
      const session = await provider.open(opts, ac.signal);
      const log = collectSttEvents(session);
      await h.feedUtterance(session, opts);
      const t0 = Date.now();
      ac.abort();
      await within(abortWithin, 'events() to end after abort', log.ended);
      expect(Date.now() - t0).toBeLessThanOrEqual(abortWithin);
      expect(log.events.at(-1)?.type).toBe('closed');
      expect(log.events.filter((e) => e.type === 'error')).toEqual([]);
      await within(abortWithin, 'close() after abort', session.close());
      await leakCheck(base);
    });

    it('open() with an already-aborted signal rejects with AbortedError', async () => {
      const provider = await h.createProvider();
      const base = await settled();
      await expect(provider.open(opts, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
      await leakCheck(base);
    });

    it('close() is idempotent and calls after close are ignored', async () => {
      const provider = await h.createProvider();
      const base = await settled();
      const session = await provider.open(opts);
      const log = collectSttEvents(session);
      await Promise.all([session.close(), session.close()]);
      await session.close();
      await log.ended;
      const count = log.events.length;
      session.write({ samples: new Int16Array(opts.sampleRate / 50), sampleRate: opts.sampleRate, timestamp: 0 });
      session.writeEncoded(new Uint8Array(opts.sampleRate / 50).fill(0xff));
      session.keepAlive();
      session.finalize();
      await new Promise((r) => setTimeout(r, 50));
      expect(log.events).toHaveLength(count);
      assertSttOrdering(log.events);
      await leakCheck(base);
    });

    it('two sessions run at the same time', async () => {
      const provider = await h.createProvider();
      const [a, b] = await Promise.all([provider.open(opts), provider.open(opts)]);
      const logs = [collectSttEvents(a), collectSttEvents(b)];
      await Promise.all([h.feedUtterance(a, opts), h.feedUtterance(b, opts)]);
      await within(resultTimeout, 'both close()', Promise.all([a.close(), b.close()]));
      for (const log of logs) {
        await log.ended;
        assertSttOrdering(log.events);
        assertText(h, finalText(log.events));
      }
    });

    for (const fault of h.faults ?? []) {
      it(`fault "${fault.name}" surfaces a typed ProviderError (retryable=${fault.retryable})`, async () => {
        const provider = await fault.createProvider();
        const base = await settled();
        if (fault.when === 'open') {
          const err = await provider.open(opts).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).toBeInstanceOf(ProviderError);
          expect((err as ProviderError).retryable).toBe(fault.retryable);
          if (fault.code !== undefined) expect((err as ProviderError).code).toBe(fault.code);
        } else {
          const session = await provider.open(opts);
          const log = collectSttEvents(session);
          await h.feedUtterance(session, opts).catch(() => undefined);
          const ev = await within(resultTimeout, 'an error event', log.waitFor((e) => e.type === 'error'));
          if (ev.type !== 'error') throw new Error('unreachable');
          expect(ev.error).toBeInstanceOf(ProviderError);
          expect(ev.retryable).toBe(fault.retryable);
          expect((ev.error as ProviderError).retryable).toBe(fault.retryable);
          if (fault.code !== undefined) expect((ev.error as ProviderError).code).toBe(fault.code);
          await within(resultTimeout, 'events() to end after the error', log.ended);
          expect(log.events.at(-1)?.type).toBe('closed');
          await session.close();
        }
        await leakCheck(base);
      });
    }
  });
}
