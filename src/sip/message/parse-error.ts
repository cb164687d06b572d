import type { SipMessage } from './sip-message.ts';

/** Stable codes of parse failures. */
export type SipParseErrorCode =
  | 'CR_SIP_KEEPALIVE'
  | 'CR_SIP_TOO_LARGE'
  | 'CR_SIP_TOO_MANY_HEADERS'
  | 'CR_SIP_LINE_TOO_LONG'
  | 'CR_SIP_BAD_START_LINE'
  | 'CR_SIP_BAD_VERSION'
  | 'CR_SIP_BAD_HEADER_LINE'
  | 'CR_SIP_BAD_REQUEST_URI'
  | 'CR_SIP_BAD_HEADER'
  | 'CR_SIP_CSEQ_MISMATCH'
  | 'CR_SIP_BAD_CONTENT_LENGTH'
  | 'CR_SIP_MISSING_CONTENT_LENGTH'
  | 'CR_SIP_BODY_MISMATCH'
  | 'CR_SIP_INTERNAL';

/**
 * Why a received message was not accepted. For a request from which a response can be built,
 * `canRespond` is true, `status` says which (400, 505 Version Not Supported, 513 Message Too
 * Large), `reason` is the reason phrase to send and `message` holds what was parsed (start line
 * and headers) for `createResponse`. Otherwise the message is dropped (`canRespond` false: a
 * response, a keep-alive, or a request without a usable Via/CSeq).
 */
export interface SipParseError {
  readonly code: SipParseErrorCode;
  /** Reason phrase for the response, e.g. "Bad Request - Content-Length mismatch". */
  readonly reason: string;
  readonly status?: 400 | 505 | 513;
  readonly canRespond: boolean;
  /** Canonical name of the offending header, when one is to blame. */
  readonly header?: string;
  /** What could be parsed; always set when `canRespond`. */
  readonly message?: SipMessage;
}

/** Result of `parseMessage`: a value, never an exception. */
export type ParseOutcome = { readonly ok: true; readonly message: SipMessage } | { readonly ok: false; readonly error: SipParseError };
