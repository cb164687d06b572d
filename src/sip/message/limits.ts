/**
 * Size limits applied to every received message, so a peer cannot make the parser hold or scan
 * without bound. Over a limit the outcome says 513 Message Too Large (RFC 3261 §21.5.14).
 */
export interface SipLimits {
  /** Largest whole message (start line, headers, body) in bytes; also bounds a stream's buffer. */
  readonly maxMessageSize: number;
  /** Most header lines (after unfolding) in one message. */
  readonly maxHeaderCount: number;
  /** Longest start line or header line (after unfolding), in characters. */
  readonly maxLineLength: number;
}

/** 64 KiB covers any UDP datagram and ordinary TCP traffic; 256 headers and 8 KiB lines are generous. */
export const DEFAULT_SIP_LIMITS: SipLimits = Object.freeze({
  maxMessageSize: 65_535,
  maxHeaderCount: 256,
  maxLineLength: 8_192,
});

/** Options of `parseMessage` and `StreamFramer`. */
export interface SipParseOptions extends Partial<SipLimits> {
  /**
   * Check the headers every element relies on (Request-URI, Via, From, To, Call-ID, CSeq,
   * Max-Forwards, Contact, Date) while parsing; default true. With false only the framing is
   * checked and `validateMessage` can run later.
   */
  readonly validate?: boolean;
}

export function resolveLimits(options: SipParseOptions | undefined): SipLimits {
  if (options === undefined) return DEFAULT_SIP_LIMITS;
  return {
    maxMessageSize: options.maxMessageSize ?? DEFAULT_SIP_LIMITS.maxMessageSize,
    maxHeaderCount: options.maxHeaderCount ?? DEFAULT_SIP_LIMITS.maxHeaderCount,
    maxLineLength: options.maxLineLength ?? DEFAULT_SIP_LIMITS.maxLineLength,
  };
}
