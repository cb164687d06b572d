import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WEBHOOK_EVENT_TYPES, type Config } from '../../config/schema.ts';
import { systemClock, type Clock } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { CallWebhookEvent, CallEventType } from '../../storage/call-record.ts';
import type { WebhookRecord, WebhookStore } from '../../storage/types.ts';
import { EndpointQueue, type DeliverySettings, type EndpointStats, type EndpointTarget } from './endpoint-queue.ts';

/** Where an endpoint comes from: the config file (read-only through the API) or the API (stored). */
export type EndpointSource = 'config' | 'api';

export interface EndpointView {
  readonly target: EndpointTarget;
  readonly source: EndpointSource;
  readonly stats: EndpointStats;
}

export interface WebhookDispatcherOptions {
  /** `config.webhooks`: they get ids `config-1`, `config-2`, ... in file order. */
  readonly endpoints: Config['webhooks'];
  readonly settings: DeliverySettings;
  /** Counters and the queue gauge are registered here. */
  readonly metrics: Registry;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Wall clock, Unix ms (event `at`, signatures). */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

/** Per-call sequence numbers kept for this many calls without `call.ended` (then the oldest are forgotten). */
const MAX_TRACKED_CALLS = 100_000;
const KNOWN_TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/**
 * Call events to HTTP endpoints (RoomKit's HTTP channel). The call layer calls `publish` on its own
 * thread of work: it is synchronous, cheap (one JSON.stringify, one push per endpoint) and never throws.
 * Each endpoint has its own bounded queue (see EndpointQueue for order, retries and the overflow policy).
 * The body of every delivery is
 *
 *     {"id": "<uuid, same on every attempt>", "type": "call.transcript", "callId": "...", "seq": 3,
 *      "at": "<ISO 8601>", "data": {...}}
 *
 * with `seq` counting the call's events from 1, signed as described in signature.ts. Queues live in
 * memory: events still waiting when the process stops are lost (counted nowhere; the call record in
 * storage stays complete).
 */
export class WebhookDispatcher {
  readonly #o: WebhookDispatcherOptions;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #queues = new Map<string, { queue: EndpointQueue; source: EndpointSource }>();
  readonly #callSeq = new Map<string, number>();
  readonly #events: Counter<'endpoint' | 'outcome'>;
  readonly #attempts: Counter<'endpoint' | 'result'>;
  readonly #publishErrors: Counter;
  #publishSeq = 0;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock();
    this.#now = options.now ?? Date.now;
    const registers = [options.metrics];
    this.#events = new Counter({
      name: 'callroom_webhook_events_total',
      help: 'Webhook events by endpoint and final outcome (delivered, failed after the last attempt, dropped from a full queue)',
      labelNames: ['endpoint', 'outcome'],
      registers,
    });
    this.#attempts = new Counter({
      name: 'callroom_webhook_attempts_total',
      help: 'Webhook delivery attempts by endpoint and result (ok, http_error, network_error, timeout)',
      labelNames: ['endpoint', 'result'],
      registers,
    });
    this.#publishErrors = new Counter({ name: 'callroom_webhook_publish_errors_total', help: 'Events refused at publish (malformed or unserializable)', registers });
    const queues = this.#queues;
    new Gauge({
      name: 'callroom_webhook_queue_depth',
      help: 'Webhook events waiting per endpoint',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        for (const [id, { queue }] of queues) this.set({ endpoint: id }, queue.stats().queued);
      },
    });
    options.endpoints.forEach((e, i) => this.upsertEndpoint({ id: `config-${i + 1}`, url: e.url, secret: e.secret, events: e.events ?? null }, 'config'));
  }

  /** Add the endpoints stored through the API (once, at start). */
  async loadStored(store: WebhookStore): Promise<void> {
    for (const w of await store.all()) this.upsertStored(w);
  }

  /**
   * Bring the API endpoints in line with the store (several nodes share it: another node's API may have
   * added, changed or deleted one): stored ones are added or retargeted, and API endpoints that were here
   * before the read and are no longer stored are removed. Run periodically; a change racing a run is
   * settled by the next one.
   */
  async syncStored(store: WebhookStore): Promise<void> {
    const before = new Set([...this.#queues].filter(([, e]) => e.source === 'api').map(([id]) => id));
    const stored = await store.all();
    const ids = new Set(stored.map((w) => w.id));
    for (const w of stored) this.upsertStored(w);
    for (const id of before) if (!ids.has(id) && this.#queues.get(id)?.source === 'api') this.removeEndpoint(id);
  }

  /** Add or replace an API endpoint from its stored record. */
  upsertStored(w: WebhookRecord): void {
    this.upsertEndpoint({ id: w.id, url: w.url, secret: w.secret, events: w.events }, 'api');
  }

  /** Add an endpoint, or retarget an existing one (its waiting events go to the new URL with the new secret). */
  upsertEndpoint(target: EndpointTarget, source: EndpointSource): void {
    if (this.#closed) return;
    const existing = this.#queues.get(target.id);
    if (existing !== undefined) {
      existing.queue.target = target;
      return;
    }
    const endpoint = target.id;
    const queue = new EndpointQueue({
      target,
      settings: this.#o.settings,
      clock: this.#clock,
      now: this.#now,
      fetch: this.#o.fetch ?? fetch,
      random: this.#o.random ?? Math.random,
      logger: this.#o.logger,
      onAttempt: (result) => this.#attempts.inc({ endpoint, result }),
      onOutcome: (outcome) => this.#events.inc({ endpoint, outcome }),
    });
    this.#queues.set(target.id, { queue, source });
  }

  /** Stop delivering to an endpoint; its waiting events are discarded. */
  removeEndpoint(id: string): boolean {
    const entry = this.#queues.get(id);
    if (entry === undefined) return false;
    entry.queue.close();
    this.#queues.delete(id);
    for (const outcome of ['delivered', 'failed', 'dropped']) this.#events.remove({ endpoint: id, outcome });
    for (const result of ['ok', 'http_error', 'network_error', 'timeout']) this.#attempts.remove({ endpoint: id, result });
    return true;
  }

  endpoint(id: string): EndpointView | undefined {
    const entry = this.#queues.get(id);
    return entry === undefined ? undefined : { target: entry.queue.target, source: entry.source, stats: entry.queue.stats() };
  }

  endpoints(): EndpointView[] {
    return [...this.#queues.values()].map(({ queue, source }) => ({ target: queue.target, source, stats: queue.stats() }));
  }

  /** Queue an event for every endpoint that wants its type. Synchronous; never throws. */
  publish(event: CallWebhookEvent): void {
    try {
      if (this.#closed) return;
      if (event === null || typeof event !== 'object' || !KNOWN_TYPES.has(event.type) || typeof event.callId !== 'string' || event.callId === '') {
        this.#refuse('webhook event refused: unknown type or no call id', undefined);
        return;
      }
      const type: CallEventType = event.type;
      const seq = (this.#callSeq.get(event.callId) ?? 0) + 1;
      if (type === 'call.ended') this.#callSeq.delete(event.callId);
      else this.#trackSeq(event.callId, seq);
      const id = randomUUID();
      const at = typeof event.at === 'string' ? event.at : new Date(this.#now()).toISOString();
      const body = JSON.stringify({ id, type, callId: event.callId, seq, at, data: event.data });
      const queued = { seq: ++this.#publishSeq, id, callId: event.callId, type, body };
      for (const { queue } of this.#queues.values()) if (queue.wants(type)) queue.enqueue(queued);
    } catch (err) {
      this.#refuse('webhook event refused: not serializable', err);
    }
  }

  /** Resolves when every endpoint's queue is empty and nothing is in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map(({ queue }) => queue.idle()));
  }

  /**
   * Stop: wait up to `drainMs` (default 0) for queues to empty, then abort what is left. Idempotent.
   */
  async close(options: { drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const drainMs = options.drainMs ?? 0;
    if (drainMs > 0) {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = this.#clock.setTimeout(resolve, drainMs)))]);
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
    for (const { queue } of this.#queues.values()) queue.close();
  }

  #trackSeq(callId: string, seq: number): void {
    this.#callSeq.set(callId, seq);
    if (this.#callSeq.size > MAX_TRACKED_CALLS) {
      const oldest = this.#callSeq.keys().next().value;
      if (oldest !== undefined) this.#callSeq.delete(oldest);
    }
  }

  #refuse(message: string, err: unknown): void {
    try {
      this.#publishErrors.inc();
      this.#o.logger.warn(err === undefined ? {} : { err: errorMessage(err) }, message);
    } catch {
      // publish never throws, not even when logging does.
    }
  }
}
