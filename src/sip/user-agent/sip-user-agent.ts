import { systemClock, type Clock } from '../../core/clock.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { DigestVerifier, type DigestAlgorithm } from '../auth/digest.ts';
import { newCallId, newTag } from '../message/ids.ts';
import { parseNameAddr } from '../message/name-addr.ts';
import { SipMessage } from '../message/sip-message.ts';
import { SipUri } from '../message/sip-uri.ts';
import { isSipUri, parseUri } from '../message/uri.ts';
import { TransactionLayer, type TransactionLayerStats } from '../transaction/transaction-layer.ts';
import { routeUri } from '../transport/route-request.ts';
import { createSipTransport } from '../transport/sip-transport.ts';
import type { TransportStats } from '../transport/transport-stats.ts';
import type { LocalEndpoint, MessageSource, SocketAddress, Transport, TransportProtocol } from '../transport/transport.ts';
import { CallMedia, type MediaSettings } from './call-media.ts';
import { CallRegistry } from './call-registry.ts';
import type { CallServices, CallSettings } from './call-services.ts';
import { InviteSession } from './invite-session.ts';
import type { SipCall } from './call-types.ts';
import { allowedMethods, SUPPORTED_OPTIONS } from './capabilities.ts';
import { SipUserAgentError } from './errors.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { SipMediaFactory } from './media-endpoint.ts';
import { Registration, type RegistrationStatus } from './registration.ts';
import { RequestRouter, type SipUserAgentStats } from './request-router.ts';
import { SourcePolicy } from './source-policy.ts';
import { SourceRateLimiter } from './source-rate-limit.ts';
import { UacInvite, type DialOptions } from './uac-invite.ts';
import type { SipUserAgentConfig } from './user-agent-config.ts';

/** How to build a user agent. */
export interface SipUserAgentOptions {
  /** The `sip` section of the configuration (`Config['sip']`). */
  readonly config: SipUserAgentConfig;
  readonly media: SipMediaFactory;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Use this transport instead of opening `config.listen` (tests); the user agent does not close it. */
  readonly transport?: Transport;
  /** Randomness for glare delays and Retry-After (tests pin it). */
  readonly random?: () => number;
  /** Unanswered inbound calls get 480 after this (default 120 s). */
  readonly ringTimeoutMs?: number;
  /** `transfer()` fails with 408 without a final NOTIFY within this (default 60 s). */
  readonly transferTimeoutMs?: number;
  /** An accepted REFER is reported 408 when `notify()` gives no final status within this (default 120 s). */
  readonly referReportTimeoutMs?: number;
  /** `close()` waits this long for BYEs and un-REGISTERs (default 3 s). */
  readonly closeTimeoutMs?: number;
  /** Digest nonce source for inbound challenges (tests pass one with a fake time). */
  readonly digestVerifier?: DigestVerifier;
  /**
   * Algorithms offered when challenging a trunk, one WWW-Authenticate each, preferred first (default
   * SHA-256, MD5 as RFC 8760 recommends). Peers that read only the first challenge and do only MD5
   * (SIPp 3.6.1, some older PBXs) need MD5 first.
   */
  readonly challengeAlgorithms?: readonly DigestAlgorithm[];
}

/** RFC 4733 payload type offered for telephone-event. */
const DTMF_PAYLOAD_TYPE = 101;

/**
 * Opens the configured listeners (unless a transport is given) and starts the user agent:
 * registrations begin at once, inbound calls arrive through `onCall`.
 */
export async function createSipUserAgent(options: SipUserAgentOptions): Promise<SipUserAgent> {
  const config = options.config;
  const transport =
    options.transport ??
    (await createSipTransport({
      listen: config.listen.map((l) => ({ transport: l.transport, host: l.host, port: l.port, ...(config.publicHost === undefined ? {} : { publicHost: config.publicHost }) })),
      limits: { maxMessageBytes: config.limits.maxMessageBytes, maxHeaders: config.limits.maxHeaders, maxLineLength: config.limits.maxLineLength },
      udpBuffers: {
        ...(config.recvBufferSize === undefined ? {} : { recvBufferSize: config.recvBufferSize }),
        ...(config.sendBufferSize === undefined ? {} : { sendBufferSize: config.sendBufferSize }),
      },
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    }));
  const ua = new SipUserAgent(options, transport, options.transport === undefined);
  ua.startRegistrations();
  return ua;
}

/**
 * The SIP user agent: inbound calls (UAS), outbound calls (UAC), registrations, over one transport
 * and transaction layer. Knows nothing of audio beyond `SipMediaEndpoint.configure`.
 */
export class SipUserAgent {
  readonly stats: SipUserAgentStats = {
    inboundCalls: 0,
    outboundCalls: 0,
    rejectedSources: 0,
    droppedSources: 0,
    challenges: 0,
    overCapacity: 0,
    mediaFailures: 0,
    rateLimited: 0,
    drainRefused: 0,
  };
  readonly #config: SipUserAgentConfig;
  readonly #options: SipUserAgentOptions;
  readonly #transport: Transport;
  readonly #ownsTransport: boolean;
  readonly #layer: TransactionLayer;
  readonly #registry: CallRegistry;
  readonly #services: CallServices;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Aborted at the very end of close(): requests still pending then settle as failed. */
  readonly #closing = new AbortController();
  /** Set when close() starts: new calls are refused from then on. */
  #shuttingDown = false;
  /** Set by drain(): new requests get 503 with Retry-After; calls in progress go on. */
  #draining = false;
  #retryAfterSeconds = 30;
  readonly #callListeners: Listeners<SipCall>;
  readonly #registrationListeners: Listeners<RegistrationStatus>;
  readonly #registrations: Registration[] = [];
  #closed: Promise<void> | undefined;

  /** Transport counters (messages, requests by method, responses by code, retransmissions sent), for metrics. */
  get transportStats(): TransportStats | undefined {
    return this.#transport.stats;
  }

  /** Transaction counters (retransmissions received, ...), for metrics. */
  get transactionStats(): TransactionLayerStats {
    return this.#layer.stats;
  }

  /** Use `createSipUserAgent`. */
  constructor(options: SipUserAgentOptions, transport: Transport, ownsTransport: boolean) {
    const config = options.config;
    this.#config = config;
    this.#options = options;
    this.#transport = transport;
    this.#ownsTransport = ownsTransport;
    this.#clock = options.clock ?? systemClock();
    this.#log = (options.logger ?? silentLogger()).child({ component: 'sip-ua' });
    this.#registry = new CallRegistry(config.limits.maxDialogs);
    const onError = (err: unknown): void => this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'sip listener threw');
    this.#callListeners = new Listeners(onError);
    this.#registrationListeners = new Listeners(onError);
    const settings: CallSettings = {
      allow: allowedMethods(config.acceptRefer),
      userAgent: config.userAgent,
      ringing: config.ringing,
      earlyMedia: config.earlyMedia,
      acceptRefer: config.acceptRefer,
      ringTimeoutMs: options.ringTimeoutMs ?? 120_000,
      transferTimeoutMs: options.transferTimeoutMs ?? 60_000,
      referReportTimeoutMs: options.referReportTimeoutMs ?? 120_000,
    };
    const registry = this.#registry;
    // The router (the layer's TransactionUser) and the call services (which hold the layer) need
    // each other: the router reads the services lazily, once requests flow.
    const router = new RequestRouter({
      get services() {
        return services;
      },
      registry,
      policy: new SourcePolicy(config, options.digestVerifier ?? new DigestVerifier(), options.challengeAlgorithms),
      mediaFactory: options.media,
      mediaSettings: (local) => this.#mediaSettings(local),
      callListeners: this.#callListeners,
      stats: this.stats,
      logger: this.#log,
      contactFor: (source: MessageSource) => this.#contact(source.transport, source.local) ?? '<sip:invalid>',
      closing: () => this.#shuttingDown,
      draining: () => this.#draining,
      retryAfter: () => this.#retryAfterSeconds,
      ...(config.rateLimit === undefined ? {} : { rateLimit: { limiter: new SourceRateLimiter(config.rateLimit, this.#clock), config: config.rateLimit } }),
    });
    this.#layer = new TransactionLayer({
      transport,
      user: router,
      clock: this.#clock,
      timers: config.timers,
      maxTransactions: config.limits.maxTransactions,
      logger: this.#log,
    });
    const services: CallServices = {
      layer: this.#layer,
      transport,
      clock: this.#clock,
      logger: this.#log,
      random: options.random ?? Math.random,
      settings,
      signal: this.#closing.signal,
      bind: (dialog, call) => registry.bind(dialog, call as InviteSession),
      unbind: (dialog, call) => registry.unbind(dialog, call as InviteSession),
      release: (call) => registry.release(call as InviteSession),
    };
    this.#services = services;
  }

  /** An event per incoming call; with no listener, calls are refused 480. */
  onCall(handler: (call: SipCall) => void): Unsubscribe {
    return this.#callListeners.add(handler);
  }

  /** Every change of a registration's state. */
  onRegistration(handler: (status: RegistrationStatus) => void): Unsubscribe {
    return this.#registrationListeners.add(handler);
  }

  /**
   * Take no new calls: every new request outside a dialog (INVITE, OPTIONS, ...) is answered 503 with
   * Retry-After, so a dispatcher's OPTIONS probe marks this gateway down; calls in progress go on.
   */
  drain(retryAfterSeconds = 30): void {
    this.#draining = true;
    this.#retryAfterSeconds = retryAfterSeconds;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Live calls. */
  get calls(): readonly SipCall[] {
    return this.#registry.calls();
  }

  /** Dialogs in the table (early and confirmed). */
  get dialogCount(): number {
    return this.#registry.dialogCount;
  }

  /** Live transactions in the transaction layer. */
  get transactionCount(): number {
    return this.#layer.size;
  }

  /** The open listeners (bound and advertised addresses). */
  endpoints(): readonly LocalEndpoint[] {
    return this.#transport.endpoints();
  }

  registrations(): readonly RegistrationStatus[] {
    return this.#registrations.map((r) => r.status);
  }

  /**
   * An outbound call: INVITE with our offer to `target` (an IP literal: a host name is a
   * `CR_SIP_TARGET_NOT_IP` error), digest retries, CANCEL on abort/timeout. Resolves with the call
   * once answered (2xx acknowledged), rejects with a `SipUserAgentError` (`status` says why).
   */
  async dial(options: DialOptions): Promise<SipCall> {
    if (this.#shuttingDown) throw new SipUserAgentError('CR_SIP_UA_CLOSED', 'user agent closed');
    const parsed = parseUri(options.target);
    if (!parsed.ok || !isSipUri(parsed.value)) throw new SipUserAgentError('CR_SIP_BAD_TARGET', `dial target must be a sip: URI: ${options.target}`);
    const uri = parsed.value;
    const named = uri.transport;
    const transport: TransportProtocol = options.transport ?? (named === 'tcp' ? 'tcp' : 'udp');
    const route = routeUri(uri, transport);
    if (!route.ok) {
      const code = route.error.code === 'CR_SIP_TRANSPORT_NEEDS_DNS' ? 'CR_SIP_TARGET_NOT_IP' : 'CR_SIP_BAD_TARGET';
      throw new SipUserAgentError(code, route.error.message, { cause: route.error });
    }
    const destination = { ...route.destination, transport };
    if (this.#registry.full) throw new SipUserAgentError('CR_SIP_TOO_MANY_DIALOGS', 'maxDialogs reached', { status: 503 });
    const endpoint = this.#endpoint(transport);
    const contact = this.#contact(transport);
    if (endpoint === undefined || contact === undefined) throw new SipUserAgentError('CR_SIP_BAD_TARGET', `no ${transport} listener to call from`);
    const callId = newCallId();
    const media = new CallMedia(await this.#options.media.allocate(callId), this.#mediaSettings(endpoint.bound), this.#services.random);
    const fromText = options.from ?? `<sip:callroom@${new SipUri({ host: endpoint.advertisedHost }).hostPort}>`;
    const from = parseNameAddr(fromText);
    if (!from.ok) {
      media.close();
      throw new SipUserAgentError('CR_SIP_BAD_TARGET', `bad From: ${from.reason}`);
    }
    from.value.tag = newTag();
    const invite = SipMessage.request('INVITE', uri);
    invite.append('Max-Forwards', '70');
    invite.append('From', from.value.toString());
    invite.append('To', `<${uri.toString()}>`);
    invite.append('Call-ID', callId);
    invite.append('CSeq', '1 INVITE');
    invite.append('Contact', contact);
    invite.append('Allow', this.#services.settings.allow.join(', '));
    invite.append('Supported', SUPPORTED_OPTIONS.join(', '));
    invite.append('User-Agent', this.#config.userAgent);
    for (const [name, value] of options.headers ?? []) invite.append(name, value);
    invite.append('Content-Type', 'application/sdp');
    invite.body = Buffer.from(media.offer(), 'utf8');
    const call = new InviteSession({
      services: this.#services,
      direction: 'outbound',
      invite,
      peer: { transport, address: destination.address, port: destination.port },
      trunk: undefined,
      media,
      localContact: contact,
    });
    const uac = new UacInvite(call, invite, destination, options);
    call.initial = uac;
    this.#registry.add(call);
    this.stats.outboundCalls++;
    call.log.info({ target: options.target, transport }, 'sip outbound call');
    await uac.start();
    return call;
  }

  /**
   * Hangs up every call (bounded wait), removes registrations, stops the transaction layer and
   * closes the transport it opened. Nothing is left running.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  /** @internal Called once by `createSipUserAgent`. */
  startRegistrations(): void {
    for (const config of this.#config.registrations) {
      const r = new Registration(config, {
        layer: this.#layer,
        clock: this.#clock,
        logger: this.#log,
        userAgent: this.#config.userAgent,
        signal: this.#closing.signal,
        contactUri: (transport, user) => {
          const e = this.#endpoint(transport);
          if (e === undefined) return undefined;
          const uri = new SipUri({ host: e.advertisedHost, port: e.advertisedPort, user });
          if (transport === 'tcp') uri.params.set('transport', 'tcp');
          return uri.toString();
        },
      });
      r.onChange((status) => this.#registrationListeners.emit(status));
      this.#registrations.push(r);
      r.start();
    }
  }

  async #close(): Promise<void> {
    const timeout = this.#options.closeTimeoutMs ?? 3_000;
    // New requests get 503 from here on; in-dialog traffic (BYE responses) still flows.
    this.#shuttingDown = true;
    const calls = this.#registry.calls();
    await this.#bounded(Promise.allSettled(calls.map((c) => c.hangup())), timeout);
    for (const c of this.#registry.calls()) c.end('local-bye');
    await this.#bounded(Promise.allSettled(this.#registrations.map((r) => r.close())), timeout);
    this.#closing.abort();
    this.#layer.close();
    if (this.#ownsTransport) await this.#transport.close();
    this.#callListeners.clear();
    this.#registrationListeners.clear();
  }

  /** Waits for `promise` at most `ms` on the user agent's clock. */
  #bounded(promise: Promise<unknown>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.#clock.setTimeout(resolve, ms);
      void promise.finally(() => {
        this.#clock.clearTimeout(handle);
        resolve();
      });
    });
  }

  #endpoint(transport: TransportProtocol, local?: SocketAddress): LocalEndpoint | undefined {
    const all = this.#transport.endpoints().filter((e) => e.transport === transport);
    return all.find((e) => local !== undefined && e.bound.port === local.port && e.bound.address === local.address) ?? all.find((e) => local !== undefined && e.bound.port === local.port) ?? all[0];
  }

  /** Our Contact for a transport (and the listener a request came in on). */
  #contact(transport: TransportProtocol, local?: SocketAddress): string | undefined {
    const e = this.#endpoint(transport, local);
    if (e === undefined) return undefined;
    const uri = new SipUri({ host: e.advertisedHost, port: e.advertisedPort });
    // §19.1.2: UDP is the default for sip:, so a TCP peer must be told to come back over TCP.
    if (transport === 'tcp') uri.params.set('transport', 'tcp');
    return `<${uri.toString()}>`;
  }

  #mediaSettings(local: SocketAddress | undefined): MediaSettings {
    const e = local === undefined ? undefined : this.#transport.endpoints().find((x) => x.bound.port === local.port);
    return {
      codecs: this.#config.codecs,
      ptime: this.#config.ptime,
      dtmfPayloadType: DTMF_PAYLOAD_TYPE,
      fallbackAddress: this.#config.publicHost ?? e?.advertisedHost ?? local?.address ?? '127.0.0.1',
    };
  }
}
