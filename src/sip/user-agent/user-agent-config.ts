import type { CodecName } from '../sdp/codecs.ts';
import type { SourceRateLimitConfig } from './source-rate-limit.ts';

/**
 * The `sip` section of the configuration as the user agent reads it. Declared here (src/sip imports
 * only src/core) with the same shape as `Config['sip']` in src/config/schema.ts, so that object is
 * passed as is.
 */
export interface SipUserAgentConfig {
  readonly listen: readonly { readonly transport: 'udp' | 'tcp'; readonly host: string; readonly port: number }[];
  /** Host placed in Contact/Via (and SDP when the media address is a wildcard). */
  readonly publicHost?: string | undefined;
  /** User-Agent / Server header value. */
  readonly userAgent: string;
  /** Codec preference, best first. */
  readonly codecs: readonly CodecName[];
  readonly ptime: number;
  /** Send 180 Ringing before answering. */
  readonly ringing: boolean;
  /** Send 183 Session Progress with the SDP answer (and start media) before answering. */
  readonly earlyMedia: boolean;
  /** Accept REFER from peers (202, NOTIFY, `onRefer`); otherwise REFER gets 405. */
  readonly acceptRefer: boolean;
  readonly timers: { readonly t1: number; readonly t2: number; readonly t4: number };
  /** UDP socket buffer sizes of the SIP listeners (bytes); the transport's defaults when absent. */
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
  readonly limits: {
    readonly maxMessageBytes: number;
    readonly maxHeaders: number;
    readonly maxLineLength: number;
    readonly maxTransactions: number;
    readonly maxDialogs: number;
  };
  readonly trunks: readonly SipTrunkConfig[];
  /** What an INVITE from a source that matches no trunk gets. */
  readonly unknownSource: 'reject' | 'drop' | 'allow';
  readonly registrations: readonly SipRegistrationConfig[];
  /** Per-source limit on requests outside any dialog; absent: none. */
  readonly rateLimit?: SourceRateLimitConfig | undefined;
}

/** A peer allowed to send calls: by source address and/or digest credentials. */
export interface SipTrunkConfig {
  readonly name: string;
  /** IPs or CIDRs (IPv4 or IPv6); empty with `auth`: any source that authenticates. */
  readonly cidrs: readonly string[];
  readonly auth?: { readonly username: string; readonly password: string; readonly realm: string } | undefined;
}

/** A registration this user agent keeps up (REGISTER with refresh). */
export interface SipRegistrationConfig {
  /** Registrar URI with an IP literal host, e.g. `sip:192.0.2.10:5060` (host names are refused). */
  readonly registrar: string;
  /** Address of record, e.g. `sip:1000@carrier.example`. */
  readonly aor: string;
  readonly username: string;
  readonly password: string;
  /** Requested lifetime in seconds. */
  readonly expires: number;
}
