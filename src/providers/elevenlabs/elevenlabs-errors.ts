/**
 * Anything the ElevenLabs SDK, fetch or the WebSocket can throw -> a typed `ProviderError`.
 */
import { ElevenLabsError, ElevenLabsTimeoutError } from '@elevenlabs/elevenlabs-js';
import { errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import { ELEVENLABS } from './output-format.ts';

/** The vendor's `detail.message` (or `detail` string) from an error body, for the log line. */
function detailOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('detail' in body)) return undefined;
  const d = body.detail;
  if (typeof d === 'string') return d;
  if (typeof d === 'object' && d !== null && 'message' in d && typeof d.message === 'string') return d.message;
  return undefined;
}

export function toProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // The SDK's request timeout surfaces as ElevenLabsTimeoutError or, for streamed responses, as a
  // plain ElevenLabsError whose message is the abort reason "timeout".
  if (err instanceof ElevenLabsTimeoutError || (err instanceof ElevenLabsError && err.statusCode === undefined && /time(d )?out/i.test(err.message))) {
    return new ProviderError(ELEVENLABS, 'CR_PROVIDER_TIMEOUT', 'request timed out', { retryable: true, cause: err });
  }
  if (err instanceof ElevenLabsError && err.statusCode !== undefined) {
    return ProviderError.fromStatus(ELEVENLABS, err.statusCode, detailOf(err.body) ?? `HTTP ${err.statusCode}`, err);
  }
  // A dropped connection mid-body surfaces as fetch's "terminated" TypeError, or as an SDK error without status.
  return new ProviderError(ELEVENLABS, 'CR_PROVIDER_UNAVAILABLE', `stream failed: ${errorMessage(err)}`, { retryable: true, cause: err });
}
