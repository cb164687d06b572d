/**
 * What {@link Resampler} needs from a filter implementation. The resampler owns the output buffer, the
 * sample counters and flush; an engine only filters.
 */
export interface ResampleEngine {
  /** Group delay in output samples (may be fractional for ratios such as 8000 -> 22050). */
  readonly delay: number;
  /**
   * Filters `input` (any length) and writes every output sample it completes into `out` from index 0.
   * `out` has room for every sample the input completes plus 2. Returns how many were
   * written; after N input samples in total an engine has written exactly ceil(N * toRate / fromRate).
   */
  process(input: Int16Array, out: Int16Array): number;
  /** Back to the initial state (silent history, phase 0). */
  reset(): void;
  /** Frees what the engine holds outside the JS heap. Idempotent. */
  close(): void;
}

/** Which filter implementation a resampler runs on. */
export type ResampleEngineName = 'speex-wasm' | 'polyphase';
