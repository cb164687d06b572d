/**
 * Transport failures while opening a Realtime socket -> typed ProviderErrors. `ws` reports a refused
 * upgrade as "Unexpected server response: NNN"; 401/403 are never retried, 429 and 5xx are.
 */
import { errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import { OPENAI_REALTIME } from './session-config.ts';

export function classifySocketError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = errorMessage(err);
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status !== undefined) return ProviderError.fromStatus(OPENAI_REALTIME, Number(status), `handshake rejected (${status})`, err);
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  // A certificate the client does not trust will not become trusted by retrying.
  if (/CERT|SELF_SIGNED|TLS|SSL/i.test(code)) {
    return new ProviderError(OPENAI_REALTIME, 'CR_PROVIDER_TLS', `TLS failed: ${message}`, { retryable: false, cause: err });
  }
  return new ProviderError(OPENAI_REALTIME, 'CR_PROVIDER_UNAVAILABLE', `connect failed: ${message}`, { retryable: true, cause: err });
}
