import { CallroomError } from '../../core/errors.ts';

/** Stable codes of user agent failures. */
export type SipUserAgentErrorCode =
  /** A dial or registrar target is a host name: this stack never resolves DNS. */
  | 'CR_SIP_TARGET_NOT_IP'
  /** A target that is not a usable sip: URI. */
  | 'CR_SIP_BAD_TARGET'
  /** The outbound call was not answered; `status` says how it failed (408 timeout, 487 cancelled). */
  | 'CR_SIP_DIAL_FAILED'
  /** The call is not in a state that allows this operation (answer after hangup...). */
  | 'CR_SIP_CALL_STATE'
  /** Another re-INVITE or transfer is in progress on this call. */
  | 'CR_SIP_CALL_BUSY'
  /** A request inside the call was refused or got no answer; `status` says which. */
  | 'CR_SIP_REQUEST_FAILED'
  /** The user agent is closed or closing. */
  | 'CR_SIP_UA_CLOSED'
  /** maxDialogs reached. */
  | 'CR_SIP_TOO_MANY_DIALOGS';

/**
 * A user agent operation that failed. `status` is the SIP status that explains it, when there is
 * one (the final response received, or 408 for a timeout, 503 for a transport failure).
 */
export class SipUserAgentError extends CallroomError {
  declare readonly code: SipUserAgentErrorCode;
  readonly status: number | undefined;

  constructor(code: SipUserAgentErrorCode, message: string, options: { status?: number; cause?: unknown; retryable?: boolean } = {}) {
    super(code, message, { retryable: options.retryable ?? false, cause: options.cause });
    this.name = 'SipUserAgentError';
    this.status = options.status;
  }
}
