/**
 * The call's connection to its realtime model: opens the session, hands every event to the bridge in
 * order, and decides what a lost session means for the call. A session that ends while the call goes on
 * (OpenAI's dropped socket, Gemini after its own resumption gave up, the server closing) is reopened when
 * the agent says `onDrop: reconnect` and the failure may pass (a new session, which the call tells the
 * conversation so far: `history-replay.ts`), up to a few times; otherwise the call is ended with the reason. Nothing here throws into
 * the call: every ending is reported through `onLost`.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RealtimeEvent, RealtimeProvider, RealtimeSession, RealtimeSessionOptions } from '../../providers/types.ts';

/** Reopens after drops, per call. */
const MAX_REOPENS = 3;
const REOPEN_DELAYS_MS = [0, 250, 1000] as const;

export interface ModelLinkOptions {
  readonly provider: RealtimeProvider;
  readonly options: RealtimeSessionOptions;
  readonly onDrop: 'reconnect' | 'end';
  readonly clock: Clock;
  readonly logger: Logger;
  /** Every event of the current session (never `closed`), synchronously and in order. */
  readonly onEvent: (event: RealtimeEvent) => void;
  /** A session is open: the first one, or a new one after a drop (`reopened`: the vendor's context is gone). */
  readonly onSession: (session: RealtimeSession, reopened: boolean) => void;
  /** The session went away; a reopen may follow (`reopening`) or the call must end (`onLost`). */
  readonly onDropped: (reason: string, reopening: boolean) => void;
  /** The model is gone for good: end the call with this reason. */
  readonly onLost: (reason: string) => void;
}

export class ModelLink {
  readonly #o: ModelLinkOptions;
  readonly #abort = new AbortController();
  #session: RealtimeSession | undefined;
  #reopens = 0;
  #timer: TimerHandle | undefined;
  #pumps = new Set<Promise<void>>();
  #closed = false;

  constructor(options: ModelLinkOptions) {
    this.#o = options;
  }

  /** The open session, if any. */
  get session(): RealtimeSession | undefined {
    return this.#session;
  }

  /** Open the first session; rejects (ProviderError, AbortedError) when the model cannot be reached. */
  async open(): Promise<void> {
    const session = await this.#o.provider.open(this.#o.options, this.#abort.signal);
    if (this.#closed) {
      await session.close();
      return;
    }
    this.#install(session, false);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#abort.abort();
    const session = this.#session;
    this.#session = undefined;
    await session?.close().catch(() => undefined);
    await Promise.all([...this.#pumps]);
  }

  #install(session: RealtimeSession, reopened: boolean): void {
    this.#session = session;
    this.#o.onSession(session, reopened);
    const pump = this.#pump(session);
    this.#pumps.add(pump);
    void pump.finally(() => this.#pumps.delete(pump));
  }

  async #pump(session: RealtimeSession): Promise<void> {
    let fatal: { message: string; retryable: boolean } | undefined;
    let reason: Extract<RealtimeEvent, { type: 'closed' }>['reason'] = 'error';
    try {
      for await (const event of session.events()) {
        if (event.type === 'closed') {
          reason = event.reason;
          break;
        }
        if (event.type === 'error' && event.fatal) fatal = { message: event.error.message, retryable: event.retryable };
        try {
          this.#o.onEvent(event);
        } catch (err) {
          this.#o.logger.error({ err: errorMessage(err), event: event.type }, 'realtime: event handler failed');
        }
      }
    } catch (err) {
      fatal ??= { message: errorMessage(err), retryable: true };
    }
    if (this.#closed || session !== this.#session || reason === 'client' || reason === 'aborted') return;
    this.#session = undefined;
    const why = fatal?.message ?? (reason === 'server' ? 'the model ended the session' : 'the model session closed');
    const retryable = fatal?.retryable ?? true;
    this.#dropped(why, retryable);
  }

  #dropped(why: string, retryable: boolean): void {
    const reopening = this.#o.onDrop === 'reconnect' && retryable && this.#reopens < MAX_REOPENS;
    this.#o.logger.warn({ err: why, reopening, reopens: this.#reopens }, 'realtime: model session lost');
    this.#o.onDropped(why, reopening);
    if (!reopening) {
      const policy = this.#o.onDrop === 'end' ? 'the agent ends calls whose model drops' : retryable ? `gave up after ${this.#reopens} reopens` : 'not retryable';
      this.#o.onLost(`realtime model connection lost (${why}); ${policy}`);
      return;
    }
    const delay = REOPEN_DELAYS_MS[Math.min(this.#reopens, REOPEN_DELAYS_MS.length - 1)] ?? 0;
    this.#reopens++;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#reopen();
    }, delay);
  }

  async #reopen(): Promise<void> {
    if (this.#closed) return;
    try {
      const session = await this.#o.provider.open(this.#o.options, this.#abort.signal);
      if (this.#closed) {
        await session.close();
        return;
      }
      this.#o.logger.info({ reopens: this.#reopens }, 'realtime: model session reopened (the conversation so far is not in it)');
      this.#install(session, true);
    } catch (err) {
      if (this.#closed) return;
      const retryable = (err as { retryable?: unknown }).retryable === true;
      this.#dropped(`reopen failed: ${errorMessage(err)}`, retryable);
    }
  }
}
