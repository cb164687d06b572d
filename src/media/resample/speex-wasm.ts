/**
 * Loads the Speex resampler (SpeexDSP, compiled to WebAssembly by @echogarden/speex-resampler-wasm) once,
 * at module load, with a top-level await: every importer of the resampler gets a ready module and can
 * construct and run resamplers synchronously. The SIMD build is tried first, then the plain build; if both
 * fail (no WebAssembly), resamplers fall back to the TypeScript polyphase engine.
 */

/** The part of the Emscripten module this code uses (the package ships no type declarations). */
export interface SpeexWasm {
  readonly HEAP16: Int16Array;
  readonly HEAPU32: Uint32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_process_int(st: number, channel: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_get_input_latency(st: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_destroy(st: number): void;
}

type SpeexFactory = (moduleArg?: object) => Promise<SpeexWasm>;

async function load(specifier: string): Promise<SpeexWasm> {
  // Specifier held in a string so tsc does not look for declarations the package does not have.
  const mod = (await import(specifier)) as { default: SpeexFactory };
  return mod.default();
}

let wasm: SpeexWasm | undefined;
let loadFailure: unknown;
try {
  wasm = await load('@echogarden/speex-resampler-wasm/simd');
} catch {
  try {
    wasm = await load('@echogarden/speex-resampler-wasm');
  } catch (err) {
    loadFailure = err;
  }
}

/** The loaded Speex module, or undefined if WebAssembly could not be loaded in this process. */
export function speexWasm(): SpeexWasm | undefined {
  return wasm;
}

/** Why loading failed (for a start-up log line), or undefined when the module is loaded. */
export function speexLoadFailure(): unknown {
  return loadFailure;
}

/**
 * Resolves once the WASM resampler is ready. Loading already happens at module load (top-level await), so
 * this never waits; it exists for callers that prefer an explicit start-up step, e.g. `await initResampler()`
 * in a composition root before the first call arrives. Never rejects: without WASM the polyphase engine is used.
 */
export async function initResampler(): Promise<void> {
  return Promise.resolve();
}

/** Bytes of WASM linear memory in use, for leak tests (memory only grows, so a leak shows as growth). */
export function speexHeapBytes(): number {
  return wasm?.HEAP16.byteLength ?? 0;
}
