import type { Config } from '../../config/schema.ts';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CallEventType } from '../../storage/call-record.ts';
import { signWebhook } from './signature.ts';

export type DeliverySettings = Config['webhookDelivery'];

/** One event, serialized once, waiting for one endpoint. */
export interface QueuedEvent {
  /** Publish order across all calls (drop-oldest picks the smallest). */
  readonly seq: number;
  readonly id: string;
  readonly callId: string;
  readonly type: CallEventType;
  readonly body: string;
}

/** Where and how to deliver; replaced in place when the endpoint is edited (queued events follow). */
export interface EndpointTarget {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  /** null: every type. */
  readonly events: readonly CallEventType[] | null;
}

export interface EndpointStats {
  /** Waiting, not yet attempted or between attempts excluded. */
  readonly queued: number;
  /** Being attempted or waiting to retry. */
  readonly inFlight: number;
  readonly delivered: number;
  /** Gave up after the last attempt (or a response that retrying cannot fix). */
  readonly failed: number;
  /** Dropped from a full queue (the oldest waiting event goes). */
  readonly dropped: number;
  /** Attempts after the first. */
  readonly retries: number;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
}

export type AttemptResult = 'ok' | 'http_error' | 'network_error' | 'timeout';
export type EventOutcome = 'delivered' | 'failed' | 'dropped';

export interface EndpointQueueOptions {
  readonly target: EndpointTarget;
  readonly settings: DeliverySettings;
  readonly clock: Clock;
  /** Wall clock, Unix ms (signature timestamps, stats). */
  readonly now: () => number;
  readonly fetch: typeof fetch;
  /** In [0, 1): backoff jitter. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly onAttempt: (result: AttemptResult) => void;
  readonly onOutcome: (outcome: EventOutcome) => void;
}

interface Lane {
  readonly items: QueuedEvent[];
  running: boolean;
  waiting: boolean;
}

/** HTTP statuses worth another attempt; any other non-2xx (3xx are not followed) is final. */
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * Delivery to one endpoint. Events of one call go out one at a time, in publish order (a retried event
 * holds back the later events of its call, never another call's); up to `concurrency` calls are
 * delivered in parallel. At most `queueSize` events wait; a new event beyond that drops the OLDEST
 * waiting event (counted): the newest events, `call.ended` with the whole record above all, are the
 * ones worth keeping. Attempts stop at `maxAttempts`, with exponential backoff (equal jitter) between
 * them, honouring Retry-After up to `maxBackoffMs`. Nothing here throws into the publisher.
 */
export class EndpointQueue {
  target: EndpointTarget;
  readonly #o: EndpointQueueOptions;
  readonly #lanes = new Map<string, Lane>();
  /** Call ids whose lane has work and waits for a delivery slot, in order. */
  readonly #ready: string[] = [];
  readonly #closing = new AbortController();
  readonly #timers = new Set<TimerHandle>();
  readonly #idleWaiters: Array<() => void> = [];
  #active = 0;
  #queued = 0;
  #stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  #last = { status: null as number | null, error: null as string | null, successAt: null as number | null, failureAt: null as number | null };

  constructor(options: EndpointQueueOptions) {
    this.#o = options;
    this.target = options.target;
  }

  wants(type: CallEventType): boolean {
    return this.target.events === null || this.target.events.includes(type);
  }

  enqueue(event: QueuedEvent): void {
    if (this.#closing.signal.aborted) return;
    if (this.#queued >= this.#o.settings.queueSize) this.#dropOldest();
    let lane = this.#lanes.get(event.callId);
    if (lane === undefined) {
      lane = { items: [], running: false, waiting: false };
      this.#lanes.set(event.callId, lane);
    }
    lane.items.push(event);
    this.#queued++;
    if (!lane.running && !lane.waiting) {
      lane.waiting = true;
      this.#ready.push(event.callId);
    }
    this.#pump();
  }

  stats(): EndpointStats {
    return {
      queued: this.#queued,
      inFlight: this.#active,
      ...this.#stats,
      lastStatus: this.#last.status,
      lastError: this.#last.error,
      lastSuccessAt: this.#last.successAt,
      lastFailureAt: this.#last.failureAt,
    };
  }

  /** Resolves when nothing waits and nothing is in flight. */
  idle(): Promise<void> {
    if (this.#queued === 0 && this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stop: in-flight attempts are aborted, backoff timers cleared, waiting events discarded. */
  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    for (const t of this.#timers) this.#o.clock.clearTimeout(t);
    this.#timers.clear();
    this.#lanes.clear();
    this.#ready.length = 0;
    this.#queued = 0;
    this.#settleIdle();
  }

  #pump(): void {
    while (this.#active < this.#o.settings.concurrency && this.#ready.length > 0) {
      const callId = this.#ready.shift() as string;
      const lane = this.#lanes.get(callId);
      if (lane === undefined) continue;
      lane.waiting = false;
      const event = lane.items.shift();
      if (event === undefined) {
        this.#lanes.delete(callId);
        continue;
      }
      this.#queued--;
      lane.running = true;
      this.#active++;
      void this.#deliver(event).finally(() => {
        this.#active--;
        lane.running = false;
        if (this.#closing.signal.aborted) {
          this.#settleIdle();
          return;
        }
        if (lane.items.length > 0) {
          lane.waiting = true;
          this.#ready.push(callId);
        } else if (this.#lanes.get(callId) === lane) {
          this.#lanes.delete(callId);
        }
        this.#pump();
        this.#settleIdle();
      });
    }
  }

  #dropOldest(): void {
    let oldest: { callId: string; lane: Lane; seq: number } | undefined;
    for (const [callId, lane] of this.#lanes) {
      const head = lane.items[0];
      if (head !== undefined && (oldest === undefined || head.seq < oldest.seq)) oldest = { callId, lane, seq: head.seq };
    }
    if (oldest === undefined) return;
    const dropped = oldest.lane.items.shift() as QueuedEvent;
    this.#queued--;
    this.#stats.dropped++;
    this.#o.onOutcome('dropped');
    if (oldest.lane.items.length === 0 && !oldest.lane.running) {
      this.#lanes.delete(oldest.callId);
      const i = this.#ready.indexOf(oldest.callId);
      if (i >= 0) this.#ready.splice(i, 1);
    }
    this.#o.logger.warn({ endpointId: this.target.id, callId: dropped.callId, eventType: dropped.type }, 'webhook queue full: oldest event dropped');
  }

  async #deliver(event: QueuedEvent): Promise<void> {
    const { maxAttempts } = this.#o.settings;
    for (let attempt = 1; ; attempt++) {
      if (this.#closing.signal.aborted) return;
      const r = await this.#attempt(event, attempt);
      if (this.#closing.signal.aborted) return;
      this.#o.onAttempt(r.result);
      if (r.result === 'ok') {
        this.#stats.delivered++;
        this.#last.successAt = this.#o.now();
        this.#o.onOutcome('delivered');
        return;
      }
      this.#last.failureAt = this.#o.now();
      if (!r.retryable || attempt >= maxAttempts) {
        this.#stats.failed++;
        this.#o.onOutcome('failed');
        this.#o.logger.warn(
          { endpointId: this.target.id, callId: event.callId, eventType: event.type, attempts: attempt, status: this.#last.status, err: this.#last.error },
          'webhook delivery failed',
        );
        return;
      }
      this.#stats.retries++;
      await this.#sleep(this.#backoff(attempt, r.retryAfterMs));
    }
  }

  async #attempt(event: QueuedEvent, attempt: number): Promise<{ result: AttemptResult; retryable: boolean; retryAfterMs?: number }> {
    const target = this.target;
    const timeout = new AbortController();
    const timer = this.#o.clock.setTimeout(() => timeout.abort(), this.#o.settings.timeoutMs);
    this.#timers.add(timer);
    try {
      const res = await this.#o.fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Callroom-Webhooks/1',
          'x-callroom-event': event.type,
          'x-callroom-delivery': event.id,
          'x-callroom-attempt': String(attempt),
          'x-callroom-signature': signWebhook(target.secret, event.body, Math.floor(this.#o.now() / 1000)),
        },
        body: event.body,
        redirect: 'manual',
        signal: AbortSignal.any([this.#closing.signal, timeout.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      this.#last.status = res.status;
      if (res.status >= 200 && res.status < 300) {
        this.#last.error = null;
        return { result: 'ok', retryable: false };
      }
      this.#last.error = `HTTP ${res.status}`;
      const retryAfterMs = retryAfter(res.headers.get('retry-after'));
      return { result: 'http_error', retryable: RETRYABLE_STATUS.has(res.status), ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    } catch (err) {
      this.#last.status = null;
      if (timeout.signal.aborted) {
        this.#last.error = `timed out after ${this.#o.settings.timeoutMs} ms`;
        return { result: 'timeout', retryable: true };
      }
      // The message names the failure (ECONNREFUSED, ...); the URL may carry credentials and is not logged.
      this.#last.error = networkError(err);
      return { result: 'network_error', retryable: true };
    } finally {
      this.#o.clock.clearTimeout(timer);
      this.#timers.delete(timer);
    }
  }

  #backoff(attempt: number, retryAfterMs: number | undefined): number {
    const { initialBackoffMs, maxBackoffMs } = this.#o.settings;
    const base = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
    const jittered = base / 2 + (this.#o.random() * base) / 2;
    return Math.min(maxBackoffMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closing.signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        this.#timers.delete(timer);
        this.#closing.signal.removeEventListener('abort', done);
        this.#o.clock.clearTimeout(timer);
        resolve();
      };
      const timer = this.#o.clock.setTimeout(done, ms);
      this.#timers.add(timer);
      this.#closing.signal.addEventListener('abort', done, { once: true });
    });
  }

  #settleIdle(): void {
    if (this.#queued !== 0 || this.#active !== 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

function retryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function networkError(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  if (cause !== undefined && typeof cause.code === 'string') return cause.code;
  return errorMessage(err).slice(0, 200);
}
