/**
 * One error base for the whole gateway: a stable machine-readable `code` (CR_*), and whether the
 * operation that failed may succeed if tried again (provider wrappers retry only retryable errors).
 */
export class CallroomError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CallroomError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** Configuration that does not validate; `issues` name the key path and what is wrong, never the value. */
export class ConfigError extends CallroomError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('CR_CONFIG_INVALID', `invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends CallroomError {
  constructor(message = 'operation aborted') {
    super('CR_ABORTED', message);
    this.name = 'AbortedError';
  }
}

/** An operation ran past its deadline. */
export class TimeoutError extends CallroomError {
  constructor(message: string) {
    super('CR_TIMEOUT', message, { retryable: true });
    this.name = 'TimeoutError';
  }
}

export function isCallroomError(err: unknown): err is CallroomError {
  return err instanceof CallroomError;
}

/** Message of any thrown value, for logs and error results. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
