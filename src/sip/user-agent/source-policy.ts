import { DigestVerifier, parseAuthParams, type DigestAlgorithm } from '../auth/digest.ts';
import type { SipMessage } from '../message/sip-message.ts';
import { AddressSet } from './address-set.ts';
import type { SipTrunkConfig, SipUserAgentConfig } from './user-agent-config.ts';

/** What to do with a new INVITE (or another out-of-dialog request) from a source. */
export type SourceDecision =
  /** Go ahead; `trunk` names the trunk it came through (undefined when `unknownSource: allow`). */
  | { readonly action: 'accept'; readonly trunk: string | undefined }
  /** 403, statelessly. */
  | { readonly action: 'reject' }
  /** Say nothing at all. */
  | { readonly action: 'drop' }
  /** 401 with these WWW-Authenticate values, statelessly. */
  | { readonly action: 'challenge'; readonly challenges: readonly string[] };

interface Trunk {
  readonly name: string;
  readonly addresses: AddressSet;
  readonly auth: SipTrunkConfig['auth'];
}

/**
 * Inbound security: which trunk a request comes from, by source address (CIDR) and/or digest
 * credentials. Decides from the request and its source alone and keeps nothing per request (the
 * digest nonces are stateless, `DigestVerifier`), so a flood from an unknown source costs no memory.
 */
export class SourcePolicy {
  readonly #trunks: readonly Trunk[];
  readonly #unknown: SipUserAgentConfig['unknownSource'];
  readonly #verifier: DigestVerifier;
  readonly #algorithms: readonly DigestAlgorithm[];

  /**
   * `algorithms`: one challenge each, in this order (RFC 8760 §2.4: preferred first). Some peers
   * (SIPp 3.6.1) read only the first challenge and do only MD5: list MD5 first for them.
   */
  constructor(
    config: Pick<SipUserAgentConfig, 'trunks' | 'unknownSource'>,
    verifier: DigestVerifier = new DigestVerifier(),
    algorithms: readonly DigestAlgorithm[] = ['SHA-256', 'MD5'],
  ) {
    this.#algorithms = algorithms.length > 0 ? algorithms : ['SHA-256', 'MD5'];
    this.#trunks = config.trunks.map((t) => ({ name: t.name, addresses: new AddressSet(t.cidrs, `sip.trunks[${t.name}].cidrs`), auth: t.auth }));
    this.#unknown = config.unknownSource;
    this.#verifier = verifier;
  }

  /** Whether a source address belongs to some trunk (whatever its auth). */
  isKnownAddress(address: string): boolean {
    return this.#trunks.some((t) => t.addresses.has(address));
  }

  /** The unknown-source policy, for requests that do not open calls. */
  get unknownSource(): SipUserAgentConfig['unknownSource'] {
    return this.#unknown;
  }

  decide(request: SipMessage, sourceAddress: string): SourceDecision {
    const byAddress = this.#trunks.filter((t) => t.addresses.has(sourceAddress));
    // Trunks matched by address without credentials let the request in at once.
    const open = byAddress.find((t) => t.auth === undefined);
    if (open !== undefined) return { action: 'accept', trunk: open.name };
    // Address-matched trunks with credentials, else credential-only trunks (no cidrs), must authenticate.
    const candidates = byAddress.length > 0 ? byAddress : this.#trunks.filter((t) => t.addresses.empty && t.auth !== undefined);
    if (candidates.length === 0) {
      if (this.#unknown === 'allow') return { action: 'accept', trunk: undefined };
      return { action: this.#unknown === 'drop' ? 'drop' : 'reject' };
    }
    let stale = false;
    for (const value of request.lines('authorization')) {
      const params = parseAuthParams(value);
      if (params === undefined) continue;
      for (const trunk of candidates) {
        const auth = trunk.auth;
        if (auth === undefined || params.get('username') !== auth.username || params.get('realm') !== auth.realm) continue;
        const result = this.#verifier.verify(value, request.method, auth.realm, auth, this.#algorithms);
        if (result === 'ok') return { action: 'accept', trunk: trunk.name };
        if (result === 'stale') stale = true;
      }
    }
    // RFC 8760 §2.4: one challenge per algorithm, the preferred first.
    const realms = [...new Set(candidates.map((t) => t.auth?.realm ?? 'callroom'))];
    const challenges = realms.flatMap((realm) => this.#algorithms.map((a) => this.#verifier.challenge(realm, a, stale)));
    return { action: 'challenge', challenges };
  }
}
