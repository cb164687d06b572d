import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { newCallId, newTag } from '../message/ids.ts';
import { parseNameAddr } from '../message/name-addr.ts';
import { SipMessage } from '../message/sip-message.ts';
import { uriEquals } from '../message/uri-equals.ts';
import { parseUri } from '../message/uri.ts';
import type { TransactionLayer } from '../transaction/transaction-layer.ts';
import { routeUri } from '../transport/route-request.ts';
import type { Destination, TransportProtocol } from '../transport/transport.ts';
import { outcomeStatus, sendNonInvite } from './client-request.ts';
import { DigestClient, type AuthHeader } from './digest-client.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { SipRegistrationConfig } from './user-agent-config.ts';

export type RegistrationState = 'registering' | 'registered' | 'failed' | 'unregistered';

/** Where one registration stands. */
export interface RegistrationStatus {
  readonly aor: string;
  readonly state: RegistrationState;
  /** Last final status received (408 for no answer, 503 for a transport failure). */
  readonly status?: number;
  /** Seconds the registrar granted. */
  readonly expires?: number;
  /** Why it failed, when it did. */
  readonly error?: string;
}

/** What a registration needs from the user agent. */
export interface RegistrationDeps {
  readonly layer: TransactionLayer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly userAgent: string;
  readonly signal: AbortSignal;
  /** Our Contact URI for a transport, with `user` as user part (no angle brackets). */
  contactUri(transport: TransportProtocol, user: string): string | undefined;
}

/** Retry a failed registration after 30 s, doubling to 10 min. */
const RETRY_MIN_MS = 30_000;
const RETRY_MAX_MS = 600_000;

/**
 * Refresh before expiry: 80% of the lifetime or 30 s before it, whichever is earlier, but never
 * before half of it has passed (short lifetimes).
 */
export function refreshDelayMs(expiresSeconds: number): number {
  const s = Math.max(expiresSeconds, 1);
  return Math.round(Math.max(s * 0.5, Math.min(s * 0.8, s - 30)) * 1000);
}

/**
 * One registration kept up (RFC 3261 §10.2): REGISTER with digest authentication, refreshed before
 * the granted expiry, 423 Min-Expires honoured, failures retried with backoff, removed (Expires 0)
 * on close. The registrar must be an IP literal: this stack does not resolve DNS.
 */
export class Registration {
  readonly #config: SipRegistrationConfig;
  readonly #deps: RegistrationDeps;
  readonly #digest: DigestClient;
  readonly #callId = newCallId();
  readonly #fromTag = newTag();
  readonly #listeners: Listeners<RegistrationStatus>;
  #seq = 0;
  #requested: number;
  #timer: TimerHandle | undefined;
  #retryMs = RETRY_MIN_MS;
  #status: RegistrationStatus;
  #closed = false;
  #destination: Destination | undefined;
  #contact: string | undefined;

  constructor(config: SipRegistrationConfig, deps: RegistrationDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#digest = new DigestClient({ username: config.username, password: config.password });
    this.#requested = config.expires;
    this.#status = { aor: config.aor, state: 'registering' };
    this.#listeners = new Listeners((err) => deps.logger.error({ err: String(err) }, 'sip registration listener threw'));
  }

  get status(): RegistrationStatus {
    return this.#status;
  }

  onChange(fn: (status: RegistrationStatus) => void): Unsubscribe {
    return this.#listeners.add(fn);
  }

  /** Sends the first REGISTER (or fails at once for a registrar that is not an IP literal). */
  start(): void {
    const registrar = parseUri(this.#config.registrar);
    const aor = parseNameAddr(this.#config.aor);
    if (!registrar.ok || !aor.ok) {
      this.#set({ state: 'failed', error: 'registrar or aor is not a URI' });
      return;
    }
    const route = routeUri(registrar.value);
    if (!route.ok) {
      this.#set({ state: 'failed', error: `${route.error.code}: ${route.error.message}` });
      return;
    }
    this.#destination = route.destination;
    const user = 'user' in aor.value.uri && typeof aor.value.uri.user === 'string' ? aor.value.uri.user : this.#config.username;
    const contact = this.#deps.contactUri(route.destination.transport, user);
    if (contact === undefined) {
      this.#set({ state: 'failed', error: `no ${route.destination.transport} listener for the Contact` });
      return;
    }
    this.#contact = contact;
    void this.#register(this.#requested);
  }

  /** Stops refreshing and removes the binding (Expires: 0) when there is one. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    if (this.#status.state === 'registered') await this.#register(0);
    this.#set({ state: 'unregistered' });
  }

  #request(expires: number, auth: AuthHeader | undefined): SipMessage {
    const req = SipMessage.request('REGISTER', this.#config.registrar);
    req.append('Max-Forwards', '70');
    const aor = this.#config.aor.includes('<') ? this.#config.aor : `<${this.#config.aor}>`;
    req.append('From', `${aor};tag=${this.#fromTag}`);
    req.append('To', aor);
    req.append('Call-ID', this.#callId);
    // §10.2: "the CSeq ... MUST increment by one for each REGISTER request with the same Call-ID".
    req.append('CSeq', `${++this.#seq} REGISTER`);
    req.append('Contact', `<${this.#contact ?? ''}>`);
    req.append('Expires', String(expires));
    req.append('User-Agent', this.#deps.userAgent);
    const header = auth ?? this.#digest.preemptive(req);
    if (header !== undefined) req.set(header.name, header.value);
    return req;
  }

  async #register(expires: number): Promise<void> {
    const destination = this.#destination;
    if (destination === undefined) return;
    let auth: AuthHeader | undefined;
    for (let round = 0; round < 4; round++) {
      const req = this.#request(expires, auth);
      const outcome = await sendNonInvite(this.#deps.layer, req, destination, { signal: this.#deps.signal });
      if (this.#closed && expires !== 0) return;
      const status = outcomeStatus(outcome);
      if (outcome.kind === 'final' && status < 300) {
        this.#digest.succeeded();
        if (expires === 0) return;
        this.#granted(outcome.response);
        return;
      }
      if (outcome.kind === 'final' && (status === 401 || status === 407)) {
        auth = this.#digest.answer(req, outcome.response);
        if (auth !== undefined) continue;
      }
      if (outcome.kind === 'final' && status === 423 && expires !== 0) {
        // §10.2.8: retry with at least the registrar's Min-Expires.
        const min = outcome.response.parsed('min-expires');
        if (min?.ok === true && min.value > expires) {
          expires = min.value;
          this.#requested = min.value;
          continue;
        }
      }
      if (expires !== 0) this.#failed(status, outcome.kind === 'final' ? `${status} ${outcome.response.reason}` : outcome.kind);
      return;
    }
    if (expires !== 0) this.#failed(401, 'authentication kept failing');
  }

  #granted(response: SipMessage): void {
    const ours = this.#contact === undefined ? undefined : parseUri(this.#contact);
    const contacts = response.contacts;
    const mine = contacts.length === 1 ? contacts[0] : contacts.find((c) => ours?.ok === true && uriEquals(c.uri, ours.value));
    // §10.2.4: the registrar's 200 lists the bindings with their expires; else the Expires header.
    const header = response.parsed('expires');
    const granted = mine?.expires ?? (header?.ok === true ? header.value : this.#requested);
    this.#retryMs = RETRY_MIN_MS;
    this.#set({ state: 'registered', status: response.status, expires: granted });
    this.#deps.logger.info({ aor: this.#config.aor, expires: granted }, 'sip registered');
    this.#schedule(refreshDelayMs(granted), () => void this.#register(this.#requested));
  }

  #failed(status: number, why: string): void {
    this.#set({ state: 'failed', status, error: why });
    this.#deps.logger.warn({ aor: this.#config.aor, status }, 'sip registration failed');
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
    this.#schedule(delay, () => void this.#register(this.#requested));
  }

  #schedule(ms: number, fn: () => void): void {
    this.#clearTimer();
    if (this.#closed) return;
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, ms);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #set(status: Omit<RegistrationStatus, 'aor'>): void {
    this.#status = { aor: this.#config.aor, ...status };
    this.#listeners.emit(this.#status);
  }
}
