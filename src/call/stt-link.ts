/**
 * A call's speech-to-text over an ordered list of providers: the first that can hear the call's audio
 * serves it (a wideband-only recogniser refuses narrowband audio and is skipped, with the reason recorded).
 * When the serving session fails mid-call it is reopened once; a second failure hands the live call to the
 * next provider (cloud -> offline). A session that served a while before dropping starts its count afresh.
 * When no provider is left the call is never left deaf for good: every provider gets another chance after a
 * back-off (1 s, 2 s, 5 s, then every 10 s; each ±20 % so calls deafened together do not retry in step) until
 * one serves again or the call ends.
 * Audio arriving while a session opens is kept (up to 3 s) and replayed.
 * G.711 calls feed a provider that takes G.711 the wire bytes untouched.
 */
import type { AudioFrame } from '../core/audio-frame.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { isRefusal } from '../providers/wrappers/fallback.ts';
import type { AudioEncoding, SttEvent, SttProvider, SttSession } from '../providers/types.ts';
import type { LegAudioFormat } from './call-leg.ts';

/** What happened to recognition, for the call record and metrics. */
export type SttStatus =
  | { readonly type: 'serving'; readonly provider: string; readonly sampleRate: number; readonly encoding: AudioEncoding }
  | { readonly type: 'skipped'; readonly provider: string; readonly code: string }
  | { readonly type: 'failed'; readonly provider: string; readonly error: string; readonly willRetry: boolean }
  | { readonly type: 'unavailable'; readonly sampleRate: number };

export interface SttLinkOptions {
  readonly providers: readonly SttProvider[];
  readonly language?: string;
  readonly keywords?: readonly string[];
  /** Reopens of one provider after a mid-call failure before moving on (default 1). */
  readonly reconnects?: number;
  /** Waits before trying every provider again once none serves (last one repeats; default 1, 2, 5, 10 s; ±20 % jitter). */
  readonly retryDelaysMs?: readonly number[];
  /** A session that served this long before dropping counts as healthy: its failures reset (default 10 s). */
  readonly healthyAfterMs?: number;
  readonly logger: Logger;
  readonly onEvent: (event: SttEvent) => void;
  readonly onStatus: (status: SttStatus) => void;
}

const MAX_PENDING_MS = 3000;
const RETRY_DELAYS_MS = [1000, 2000, 5000, 10_000];
const HEALTHY_AFTER_MS = 10_000;

export class SttLink {
  readonly #o: SttLinkOptions;
  readonly #failures = new Map<string, number>();
  readonly #dead = new Set<string>();
  #format: LegAudioFormat | undefined;
  #session: SttSession | undefined;
  #provider: SttProvider | undefined;
  #encoding: AudioEncoding = 'pcm_s16le';
  #opening = false;
  #generation = 0;
  #pending: Array<AudioFrame | Uint8Array> = [];
  #pendingMs = 0;
  #closed = false;
  #available = true;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;

  constructor(options: SttLinkOptions) {
    this.#o = options;
  }

  /** Whether some provider hears the current audio (false: the call works by keypad only). */
  get available(): boolean {
    return this.#available;
  }

  get provider(): string | undefined {
    return this.#provider?.name;
  }

  /** Start (or restart, on a new audio format) recognition. */
  start(format: LegAudioFormat): void {
    this.#format = format;
    this.#dead.clear();
    this.#failures.clear();
    this.#available = true;
    this.#cancelRetry();
    this.#retries = 0;
    void this.#open();
  }

  /** PCM from the caller (synchronous; ignored when the session takes G.711 bytes). */
  write(frame: AudioFrame): void {
    if (this.#encoding !== 'pcm_s16le') return;
    if (this.#session !== undefined && !this.#opening) this.#session.write(frame);
    else this.#keep(frame, (frame.samples.length * 1000) / frame.sampleRate);
  }

  /** G.711 bytes from the caller (synchronous; used when the session takes them). */
  writeEncoded(bytes: Uint8Array): void {
    if (this.#encoding === 'pcm_s16le') return;
    if (this.#session !== undefined && !this.#opening) this.#session.writeEncoded(bytes);
    else this.#keep(bytes, bytes.length / 8);
  }

  finalize(): void {
    this.#session?.finalize();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancelRetry();
    this.#generation++;
    const s = this.#session;
    this.#session = undefined;
    this.#pending = [];
    if (s !== undefined) await s.close().catch(() => undefined);
  }

  #keep(item: AudioFrame | Uint8Array, ms: number): void {
    if (this.#closed || !this.#available) return;
    this.#pending.push(item);
    this.#pendingMs += ms;
    while (this.#pendingMs > MAX_PENDING_MS && this.#pending.length > 1) {
      const old = this.#pending.shift();
      this.#pendingMs -= old instanceof Uint8Array ? old.length / 8 : old === undefined ? 0 : (old.samples.length * 1000) / old.sampleRate;
    }
  }

  async #open(): Promise<void> {
    const format = this.#format;
    if (format === undefined || this.#closed) return;
    const generation = ++this.#generation;
    this.#opening = true;
    const old = this.#session;
    this.#session = undefined;
    if (old !== undefined) void old.close().catch(() => undefined);
    for (const provider of this.#o.providers) {
      if (this.#dead.has(provider.name)) continue;
      if (!provider.supportsSampleRate(format.sampleRate)) {
        const narrowband = format.sampleRate < 16000 && provider.supportsSampleRate(16000);
        this.#o.onStatus({ type: 'skipped', provider: provider.name, code: narrowband ? 'CR_STT_NARROWBAND_UNSUPPORTED' : 'CR_STT_FORMAT' });
        continue;
      }
      const encoding: AudioEncoding = format.encoding !== 'pcm_s16le' && provider.encodings.includes(format.encoding) ? format.encoding : 'pcm_s16le';
      this.#encoding = encoding;
      try {
        const session = await provider.open({
          sampleRate: format.sampleRate,
          encoding,
          ...(this.#o.language === undefined ? {} : { language: this.#o.language }),
          ...(this.#o.keywords === undefined || this.#o.keywords.length === 0 ? {} : { keywords: this.#o.keywords }),
        });
        if (generation !== this.#generation || this.#closed) {
          void session.close().catch(() => undefined);
          return;
        }
        this.#session = session;
        this.#provider = provider;
        this.#opening = false;
        this.#available = true;
        this.#retries = 0;
        this.#o.onStatus({ type: 'serving', provider: provider.name, sampleRate: format.sampleRate, encoding });
        this.#flushPending(session);
        void this.#pump(session, provider, generation);
        return;
      } catch (err) {
        if (generation !== this.#generation || this.#closed) return;
        if (isRefusal(err)) {
          this.#o.onStatus({ type: 'skipped', provider: provider.name, code: err.code });
          continue;
        }
        this.#o.logger.warn({ provider: provider.name, err: errorMessage(err) }, 'stt open failed');
        this.#o.onStatus({ type: 'failed', provider: provider.name, error: errorMessage(err), willRetry: false });
        this.#dead.add(provider.name);
      }
    }
    this.#opening = false;
    this.#available = false;
    this.#pending = [];
    this.#pendingMs = 0;
    this.#o.onStatus({ type: 'unavailable', sampleRate: format.sampleRate });
    this.#scheduleRetry(format);
  }

  /** No provider serves: give every one (except those that can never hear this format) another chance later. */
  #scheduleRetry(format: LegAudioFormat): void {
    const canEverServe = this.#o.providers.some((p) => p.supportsSampleRate(format.sampleRate));
    if (!canEverServe || this.#closed) return;
    const delays = this.#o.retryDelaysMs ?? RETRY_DELAYS_MS;
    const delay = (delays[Math.min(this.#retries, delays.length - 1)] ?? 10_000) * (0.8 + Math.random() * 0.4);
    this.#retries++;
    this.#cancelRetry();
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#closed || this.#format !== format) return;
      this.#dead.clear();
      this.#failures.clear();
      this.#o.logger.info({ attempt: this.#retries }, 'stt retrying recognisers');
      void this.#open();
    }, delay);
    this.#retryTimer.unref?.();
  }

  #cancelRetry(): void {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #flushPending(session: SttSession): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingMs = 0;
    for (const item of pending) {
      if (item instanceof Uint8Array) {
        if (this.#encoding !== 'pcm_s16le') session.writeEncoded(item);
      } else if (this.#encoding === 'pcm_s16le') {
        session.write(item);
      }
    }
  }

  /** Deliver the session's events; a failure reopens once, then moves to the next provider. */
  async #pump(session: SttSession, provider: SttProvider, generation: number): Promise<void> {
    let failure: string | undefined;
    const servedFrom = performance.now();
    try {
      for await (const ev of session.events()) {
        if (generation !== this.#generation) return;
        if (ev.type === 'error') {
          failure = errorMessage(ev.error);
          if (!ev.retryable) break;
          continue;
        }
        if (ev.type === 'closed') break;
        this.#o.onEvent(ev);
      }
    } catch (err) {
      failure = errorMessage(err);
    }
    if (generation !== this.#generation || this.#closed) return;
    // The session ended without us closing it: the provider dropped the call's recognition.
    const healthy = performance.now() - servedFrom >= (this.#o.healthyAfterMs ?? HEALTHY_AFTER_MS);
    const failures = (healthy ? 0 : (this.#failures.get(provider.name) ?? 0)) + 1;
    this.#failures.set(provider.name, failures);
    const willRetry = failures <= (this.#o.reconnects ?? 1);
    if (!willRetry) this.#dead.add(provider.name);
    this.#o.logger.warn({ provider: provider.name, err: failure ?? 'session closed', willRetry }, 'stt session lost');
    this.#o.onStatus({ type: 'failed', provider: provider.name, error: failure ?? 'session closed', willRetry });
    void this.#open();
  }
}
