/**
 * Hooks the provider wrappers call so the composition root can count requests, first-result
 * latency, errors and fallbacks (prom-client is wired there, not here). Every hook is optional
 * and must not throw; the wrappers guard them anyway.
 */
export type ProviderKind = 'stt' | 'tts' | 'llm';

export interface ProviderMetrics {
  /** A session was opened / a synthesis or model turn started. */
  onRequest?(e: { readonly kind: ProviderKind; readonly provider: string }): void;
  /**
   * The first useful output: STT first transcript after the first audio written; TTS first audio
   * chunk after the request; LLM first event after the request.
   */
  onFirstResult?(e: { readonly kind: ProviderKind; readonly provider: string; readonly latencyMs: number }): void;
  onError?(e: { readonly kind: ProviderKind; readonly provider: string; readonly error: unknown; readonly retryable: boolean }): void;
  /** A fallback wrapper moved from one provider to the next because of `error`. */
  onFallback?(e: { readonly kind: ProviderKind; readonly from: string; readonly to: string; readonly error: unknown }): void;
}

/** Call a hook without letting a broken metrics sink break a call. */
export function emitMetric<K extends keyof ProviderMetrics>(
  metrics: ProviderMetrics | undefined,
  hook: K,
  event: Parameters<NonNullable<ProviderMetrics[K]>>[0],
): void {
  const fn = metrics?.[hook] as ((e: typeof event) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn.call(metrics, event);
  } catch {
    // Metrics are best effort.
  }
}
