import { CallroomError } from '../core/errors.ts';

/**
 * A failure talking to a speech or model provider. `retryable` says whether the same request may
 * succeed later (network drop, 429, 5xx) or never will (401, 400, bad model).
 */
export class ProviderError extends CallroomError {
  readonly provider: string;
  readonly status: number | undefined;

  constructor(
    provider: string,
    code: string,
    message: string,
    options: { retryable?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(code, `${provider}: ${message}`, options);
    this.name = 'ProviderError';
    this.provider = provider;
    this.status = options.status;
  }

  /** Classify an HTTP status: 408, 429 and 5xx are retryable. */
  static fromStatus(provider: string, status: number, message: string, cause?: unknown): ProviderError {
    const retryable = status === 408 || status === 429 || status >= 500;
    const code = status === 401 || status === 403 ? 'CR_PROVIDER_AUTH' : retryable ? 'CR_PROVIDER_UNAVAILABLE' : 'CR_PROVIDER_REJECTED';
    return new ProviderError(provider, code, message, { retryable, status, cause });
  }
}
