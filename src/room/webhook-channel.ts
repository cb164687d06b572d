import { errorMessage } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { Channel, ChannelBinding } from './channel.ts';
import type { ChannelCategory, RoomEvent } from './events.ts';

/** One POST of one room event. */
export interface WebhookDelivery {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** The event as JSON. */
  readonly body: string;
  readonly event: RoomEvent;
}

export interface WebhookResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly error?: string;
}

/**
 * How webhook deliveries go out. The default posts with fetch; retries, signing and queues belong to
 * the REST/WebSocket layer, which can supply its own provider.
 */
export interface WebhookProvider {
  deliver(delivery: WebhookDelivery, signal: AbortSignal): Promise<WebhookResult>;
}

/** POST with fetch, one attempt, bounded by a timeout; never throws. */
export class FetchWebhookProvider implements WebhookProvider {
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: { timeoutMs?: number; fetch?: typeof fetch } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#fetch = options.fetch ?? fetch;
  }

  async deliver(delivery: WebhookDelivery, signal: AbortSignal): Promise<WebhookResult> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
    try {
      const res = await this.#fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...delivery.headers },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.ok ? { ok: true, status: res.status } : { ok: false, status: res.status, error: `HTTP ${res.status}` };
    } catch (err) {
      return { ok: false, error: timeout.signal.aborted ? `timed out after ${this.#timeoutMs} ms` : errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface WebhookChannelOptions {
  readonly id: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly provider?: WebhookProvider;
  /** Deliver only these event types (default all). */
  readonly eventTypes?: ReadonlyArray<RoomEvent['type']>;
  readonly logger?: Logger;
}

/**
 * A channel that delivers every room event as JSON to an HTTP endpoint. Binding metadata `url` points
 * one room elsewhere. The kit calls `deliver` in timeline order; a failed delivery is logged and
 * counted, never thrown into the room.
 */
export class WebhookChannel implements Channel {
  readonly id: string;
  readonly category: ChannelCategory = 'webhook';
  readonly #url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #provider: WebhookProvider;
  readonly #types: ReadonlySet<string> | undefined;
  readonly #logger: Logger;
  readonly #closing = new AbortController();
  delivered = 0;
  failed = 0;

  constructor(options: WebhookChannelOptions) {
    this.id = options.id;
    this.#url = options.url;
    this.#headers = options.headers ?? {};
    this.#provider = options.provider ?? new FetchWebhookProvider();
    this.#types = options.eventTypes === undefined ? undefined : new Set(options.eventTypes);
    this.#logger = (options.logger ?? silentLogger()).child({ channelId: options.id });
  }

  async deliver(event: RoomEvent, binding: ChannelBinding): Promise<void> {
    if (this.#closing.signal.aborted) return;
    if (this.#types !== undefined && !this.#types.has(event.type)) return;
    const url = typeof binding.metadata['url'] === 'string' ? binding.metadata['url'] : this.#url;
    let result: WebhookResult;
    try {
      result = await this.#provider.deliver({ url, headers: this.#headers, body: JSON.stringify(event), event }, this.#closing.signal);
    } catch (err) {
      result = { ok: false, error: errorMessage(err) };
    }
    if (result.ok) {
      this.delivered++;
    } else {
      this.failed++;
      this.#logger.warn({ roomId: event.roomId, seq: event.seq, status: result.status, err: result.error }, 'webhook delivery failed');
    }
  }

  /** Stop delivering; in-flight requests are aborted. */
  close(): void {
    this.#closing.abort();
  }
}
