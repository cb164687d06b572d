import { CallroomError } from '../../core/errors.ts';

/** Stable codes of transport failures. */
export type SipTransportErrorCode =
  /** The target is a host name: this stack never resolves DNS (the user agent sends to IP literals). */
  | 'CR_SIP_TRANSPORT_NEEDS_DNS'
  /** No listener of the needed protocol and address family is open. */
  | 'CR_SIP_TRANSPORT_NO_LISTENER'
  /** The transport named by a Via, URI or destination is neither UDP nor TCP. */
  | 'CR_SIP_TRANSPORT_UNSUPPORTED'
  /** A TCP connection could not be opened (refused, timed out, too many connections). */
  | 'CR_SIP_TRANSPORT_CONNECT_FAILED'
  /** The socket refused or failed the write. */
  | 'CR_SIP_TRANSPORT_SEND_FAILED'
  /** The message does not fit the configured maximum size. */
  | 'CR_SIP_TRANSPORT_TOO_LARGE'
  /** A response could not be routed: no usable top Via. */
  | 'CR_SIP_TRANSPORT_NO_ROUTE'
  /** The transport was closed. */
  | 'CR_SIP_TRANSPORT_CLOSED';

/**
 * Why a message could not be sent. Returned as a value in `SendResult` (sends never reject); the
 * transaction layer turns it into `onTransportError` (RFC 3261 §17.1.4, §17.2.4).
 */
export class SipTransportError extends CallroomError {
  declare readonly code: SipTransportErrorCode;

  constructor(code: SipTransportErrorCode, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, { retryable: options.retryable ?? code === 'CR_SIP_TRANSPORT_CONNECT_FAILED', cause: options.cause });
    this.name = 'SipTransportError';
  }
}
