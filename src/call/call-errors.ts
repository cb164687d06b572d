import { CallroomError } from '../core/errors.ts';

/** Stable codes of the call layer's errors. */
export type CallErrorCode =
  | 'CR_CALL_LIMIT'
  | 'CR_CALL_NO_AGENT'
  | 'CR_CALL_DRAINING'
  | 'CR_CALL_AGENT_INVALID'
  | 'CR_CALL_NOT_FOUND'
  | 'CR_CALL_ENDED'
  | 'CR_CALL_TRUNK_UNKNOWN';

/** A call refused before it was answered; `status` is the SIP status a SIP medium answers with. */
export class CallRejectedError extends CallroomError {
  readonly status: number;
  constructor(code: CallErrorCode, status: number, message: string) {
    super(code, message);
    this.name = 'CallRejectedError';
    this.status = status;
  }
}

export function callError(code: CallErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}): CallroomError {
  return new CallroomError(code, message, options);
}
