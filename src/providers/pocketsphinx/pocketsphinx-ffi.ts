/**
 * FFI bindings (koffi) to Debian's libpocketsphinx.so.3 and libsphinxbase.so.3.
 *
 * Debian 12 ships pocketsphinx 5prealpha (0.8+5prealpha), whose API is the sphinxbase one: the decoder
 * is configured with `cmd_ln_parse_r(NULL, ps_args(), argc, argv, strict)` and created with
 * `ps_init(config)`; there is no `ps_config_init` (that is the 5.0 API). Streaming uses
 * `ps_start_utt` / `ps_process_raw` / `ps_get_hyp` / `ps_get_in_speech` / `ps_end_utt`, word timings
 * come from the `ps_seg_*` iterator (frames at 100 per second).
 *
 * `ps_process_raw` and `ps_init` are the expensive calls (tens of ms per 100 ms of audio; ~0.3-0.5 s to
 * load the models); callers use their `async` variants, which koffi runs on its worker threads, so the
 * event loop is never blocked by recognition. A decoder must not be used by two calls at once.
 */
import koffi from 'koffi';
import { errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';

/** Opaque native pointer as koffi hands it out. */
export type NativePointer = object;

/** The typed native functions the adapter uses. */
export interface PocketsphinxLib {
  psArgs(): NativePointer;
  cmdLnParse(argv: readonly string[]): NativePointer | null;
  cmdLnFree(config: NativePointer): void;
  init(config: NativePointer): Promise<NativePointer | null>;
  free(ps: NativePointer): void;
  /** Rebuild the decoder from its own configuration (fresh adaptation state); 0 on success. */
  reinit(ps: NativePointer): Promise<number>;
  startUtt(ps: NativePointer): number;
  /** Feed samples; resolves with the number of frames searched (negative on error). */
  processRaw(ps: NativePointer, samples: Int16Array, count: number): Promise<number>;
  endUtt(ps: NativePointer): Promise<number>;
  getHyp(ps: NativePointer): string | null;
  getInSpeech(ps: NativePointer): boolean;
  /** Words of the current best hypothesis with start/end frames (fillers included). */
  segments(ps: NativePointer): Array<{ word: string; startFrame: number; endFrame: number }>;
}

let cached: { path: string; lib: PocketsphinxLib } | undefined;

/**
 * Load the libraries once per process (dlopen is process-wide anyway). Throws a non-retryable
 * ProviderError CR_STT_ENGINE naming the library when it is not installed.
 */
export function loadPocketsphinx(libraryPath = 'libpocketsphinx.so.3', sphinxbasePath = 'libsphinxbase.so.3'): PocketsphinxLib {
  if (cached !== undefined && cached.path === libraryPath) return cached.lib;
  let ps: ReturnType<typeof koffi.load>;
  let sb: ReturnType<typeof koffi.load>;
  try {
    sb = koffi.load(sphinxbasePath);
    ps = koffi.load(libraryPath);
  } catch (err) {
    throw new ProviderError(
      'pocketsphinx',
      'CR_STT_ENGINE',
      `cannot load ${libraryPath} (install the Debian packages libpocketsphinx3 and pocketsphinx-en-us): ${errorMessage(err)}`,
      { cause: err },
    );
  }
  // Logging off once, process-wide, before any decoder exists. The alternative, `-logfn /dev/null` per
  // decoder, makes every ps_init/ps_reinit fclose the log FILE another decoder's thread may be writing
  // to at that moment (sphinxbase keeps one global log stream): a use-after-free that hung koffi threads.
  sb.func('void err_set_logfp(void *stream)')(null);
  const psArgs = ps.func('void *ps_args()');
  const cmdLnParse = sb.func('void *cmd_ln_parse_r(void *inout, void *defn, int32_t argc, const char **argv, int32_t strict)');
  const cmdLnFree = sb.func('int cmd_ln_free_r(void *cmdln)');
  const init = ps.func('void *ps_init(void *config)');
  const free = ps.func('int ps_free(void *ps)');
  const reinit = ps.func('int ps_reinit(void *ps, void *config)');
  const startUtt = ps.func('int ps_start_utt(void *ps)');
  const processRaw = ps.func('int ps_process_raw(void *ps, const int16_t *data, size_t n_samples, int no_search, int full_utt)');
  const endUtt = ps.func('int ps_end_utt(void *ps)');
  const getHyp = ps.func('const char *ps_get_hyp(void *ps, _Out_ int32_t *out_best_score)');
  const getInSpeech = ps.func('uint8_t ps_get_in_speech(void *ps)');
  const segIter = ps.func('void *ps_seg_iter(void *ps)');
  const segNext = ps.func('void *ps_seg_next(void *seg)');
  const segWord = ps.func('const char *ps_seg_word(void *seg)');
  const segFrames = ps.func('void ps_seg_frames(void *seg, _Out_ int *out_sf, _Out_ int *out_ef)');

  const callAsync = <T>(fn: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => fn.async(...args, (err: unknown, res: T) => (err ? reject(err) : resolve(res))));

  const score = [0];
  const sf = [0];
  const ef = [0];
  const lib: PocketsphinxLib = {
    psArgs: () => psArgs() as NativePointer,
    cmdLnParse: (argv) => (cmdLnParse(null, psArgs(), argv.length, [...argv], 1) as NativePointer | null) ?? null,
    cmdLnFree: (config) => void cmdLnFree(config),
    init: (config) => callAsync<NativePointer | null>(init, config),
    free: (p) => void free(p),
    reinit: (p) => callAsync<number>(reinit, p, null),
    startUtt: (p) => startUtt(p) as number,
    processRaw: (p, samples, count) => callAsync<number>(processRaw, p, samples, count, 0, 0),
    endUtt: (p) => callAsync<number>(endUtt, p),
    getHyp: (p) => (getHyp(p, score) as string | null) ?? null,
    getInSpeech: (p) => (getInSpeech(p) as number) !== 0,
    segments: (p) => {
      const out: Array<{ word: string; startFrame: number; endFrame: number }> = [];
      // ps_seg_next frees the iterator when it returns NULL, so walking to the end leaks nothing.
      for (let seg = segIter(p) as NativePointer | null; seg !== null; seg = segNext(seg) as NativePointer | null) {
        segFrames(seg, sf, ef);
        out.push({ word: String(segWord(seg)), startFrame: sf[0] ?? 0, endFrame: ef[0] ?? 0 });
      }
      return out;
    },
  };
  cached = { path: libraryPath, lib };
  return lib;
}
