import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AbortedError } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import { loadPocketsphinx, type NativePointer, type PocketsphinxLib } from './pocketsphinx-ffi.ts';

/** Where the acoustic model, language model and dictionary are. */
export interface PocketsphinxModelOptions {
  /** Directory laid out like Debian's pocketsphinx-en-us (default /usr/share/pocketsphinx/model/en-us). */
  readonly modelDir?: string;
  /** Acoustic model directory (default `<modelDir>/en-us`). */
  readonly hmm?: string;
  /** Binary or ARPA n-gram language model (default `<modelDir>/en-us.lm.bin`). */
  readonly lm?: string;
  /** Pronunciation dictionary (default `<modelDir>/cmudict-en-us.dict`). */
  readonly dict?: string;
  /** Further decoder arguments, e.g. `{ '-vad_postspeech': '40' }`. */
  readonly extraArgs?: Readonly<Record<string, string>>;
}

export interface PocketsphinxPoolOptions extends PocketsphinxModelOptions {
  /**
   * Most decoders alive at once (default 4). Each holds its own copy of the models (~90 MB resident)
   * and serves one session at a time; a session beyond the cap is refused as retryable capacity.
   */
  readonly maxDecoders?: number;
  /**
   * Rebuild a decoder (ps_reinit, ~0.3 s on a koffi thread, after the session ended) before the next
   * session gets it (default true). pocketsphinx adapts its cepstral mean normalisation as it listens,
   * and without this one caller's audio would shape how the next caller is heard.
   */
  readonly resetBetweenSessions?: boolean;
  /** Library file names, for non-Debian installs. */
  readonly libraryPath?: string;
  readonly sphinxbasePath?: string;
}

export const DEFAULT_POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

/** The decoder's feature rate: frames per second of audio (pocketsphinx's default -frate). */
export const POCKETSPHINX_FRAME_RATE = 100;

/** The wideband acoustic model's sample rate. */
export const POCKETSPHINX_SAMPLE_RATE = 16000;

/** Resolve and check the model files; throws a non-retryable CR_STT_MODEL naming every missing one. */
export function resolvePocketsphinxModel(options: PocketsphinxModelOptions): { hmm: string; lm: string; dict: string } {
  const dir = options.modelDir ?? DEFAULT_POCKETSPHINX_MODEL_DIR;
  const files = {
    hmm: options.hmm ?? join(dir, 'en-us'),
    lm: options.lm ?? join(dir, 'en-us.lm.bin'),
    dict: options.dict ?? join(dir, 'cmudict-en-us.dict'),
  };
  const missing = Object.entries(files)
    .filter(([, path]) => !existsSync(path))
    .map(([what, path]) => `${what} ${path}`);
  if (existsSync(files.hmm) && !existsSync(join(files.hmm, 'mdef'))) missing.push(`hmm ${join(files.hmm, 'mdef')}`);
  if (missing.length > 0) {
    throw new ProviderError(
      'pocketsphinx',
      'CR_STT_MODEL',
      `model files missing: ${missing.join(', ')} (Debian: apt-get install pocketsphinx-en-us)`,
    );
  }
  return files;
}

/** One native decoder. Calls on it must not overlap (the session serialises them). */
export interface PocketsphinxDecoder {
  readonly lib: PocketsphinxLib;
  readonly ps: NativePointer;
  /**
   * Samples fed since the decoder was created. Word segments are numbered in frames (10 ms) counted
   * from decoder creation across all utterances and sessions, so a session needs this to place them.
   */
  samplesFed: number;
}

/**
 * Decoders are expensive to create (0.3-0.5 s, models loaded per decoder) and cheap to reuse, so the
 * provider keeps idle ones for the next session. Creation runs on koffi's worker threads.
 */
export class PocketsphinxPool {
  readonly #options: PocketsphinxPoolOptions;
  readonly #max: number;
  readonly #reset: boolean;
  readonly #idle: Entry[] = [];
  readonly #busy = new Map<PocketsphinxDecoder, NativePointer>();
  readonly #resetting = new Set<Promise<void>>();
  #creating = 0;
  #closed = false;

  constructor(options: PocketsphinxPoolOptions = {}) {
    this.#options = options;
    this.#max = Math.max(1, options.maxDecoders ?? 4);
    this.#reset = options.resetBetweenSessions ?? true;
  }

  /** Decoders alive (idle, in use, being reset or created). */
  get size(): number {
    return this.#idle.length + this.#busy.size + this.#resetting.size + this.#creating;
  }

  /**
   * Decoders not idle: held by a session, being reset after one, or being created. Back to 0 once
   * every session has closed and the resets are done (leak checks read this).
   */
  get inUse(): number {
    return this.#busy.size + this.#resetting.size + this.#creating;
  }

  /**
   * Take an idle decoder, wait for one being reset, or make one. Rejects with ProviderError (model,
   * engine, capacity) or AbortedError.
   */
  async acquire(signal?: AbortSignal): Promise<PocketsphinxDecoder> {
    for (;;) {
      if (signal?.aborted) throw new AbortedError();
      if (this.#closed) throw new ProviderError('pocketsphinx', 'CR_PROVIDER_CLOSED', 'decoder pool is closed');
      const idle = this.#idle.pop();
      if (idle !== undefined) {
        this.#busy.set(idle.decoder, idle.config);
        return idle.decoder;
      }
      // A reset (~0.3 s) is cheaper than a new decoder (~0.5 s and another ~90 MB): wait for it.
      if (this.#resetting.size > 0) {
        await abortable(Promise.race(this.#resetting), signal);
        continue;
      }
      if (this.size >= this.#max) {
        throw new ProviderError('pocketsphinx', 'CR_STT_CAPACITY', `all ${this.#max} decoders are in use`, { retryable: true });
      }
      // An abort does not waste the decoder being built: it goes to the idle list.
      const created = this.#create();
      const entry = await abortable(created, signal).catch(async (err: unknown) => {
        if (err instanceof AbortedError) created.then((e) => this.#putIdle(e), () => undefined);
        throw err;
      });
      if (this.#closed) {
        this.#free(entry);
        throw new ProviderError('pocketsphinx', 'CR_PROVIDER_CLOSED', 'decoder pool is closed');
      }
      this.#busy.set(entry.decoder, entry.config);
      return entry.decoder;
    }
  }

  /** Give a decoder back (its utterance ended); it is reset first unless configured otherwise. */
  release(decoder: PocketsphinxDecoder): void {
    const config = this.#busy.get(decoder);
    if (config === undefined) return;
    this.#busy.delete(decoder);
    if (!this.#reset || this.#closed) {
      this.#putIdle({ decoder, config });
      return;
    }
    const p = this.#rebuild({ decoder, config });
    this.#resetting.add(p);
    void p.finally(() => this.#resetting.delete(p));
  }

  /** Free a decoder instead of reusing it (after a native error its state is unknown). */
  discard(decoder: PocketsphinxDecoder): void {
    const config = this.#busy.get(decoder);
    if (config === undefined) return;
    this.#busy.delete(decoder);
    this.#free({ decoder, config });
  }

  /** Resolves once no decoder is being reset (benchmarks, orderly shutdown). */
  async settled(): Promise<void> {
    while (this.#resetting.size > 0) await Promise.all(this.#resetting);
  }

  /** Free idle decoders (after pending resets) now, and in-use ones as they are released. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#resetting);
    for (const e of this.#idle.splice(0)) this.#free(e);
  }

  async #rebuild(entry: Entry): Promise<void> {
    const rc = await entry.decoder.lib.reinit(entry.decoder.ps).catch(() => -1);
    if (rc < 0) {
      this.#free(entry);
      return;
    }
    // Frame numbering restarts with the rebuilt acoustic model.
    entry.decoder.samplesFed = 0;
    this.#putIdle(entry);
  }

  async #create(): Promise<Entry> {
    this.#creating++;
    try {
      const files = resolvePocketsphinxModel(this.#options);
      const lib = loadPocketsphinx(this.#options.libraryPath, this.#options.sphinxbasePath);
      const argv = ['-hmm', files.hmm, '-lm', files.lm, '-dict', files.dict, '-samprate', String(POCKETSPHINX_SAMPLE_RATE)];
      for (const [k, v] of Object.entries(this.#options.extraArgs ?? {})) argv.push(k.startsWith('-') ? k : `-${k}`, v);
      const config = lib.cmdLnParse(argv);
      if (config === null) throw new ProviderError('pocketsphinx', 'CR_STT_CONFIG', `decoder arguments rejected: ${argv.join(' ')}`);
      const ps = await lib.init(config);
      if (ps === null) {
        lib.cmdLnFree(config);
        throw new ProviderError('pocketsphinx', 'CR_STT_MODEL', `ps_init failed for ${files.hmm} / ${files.lm} / ${files.dict}`);
      }
      return { decoder: { lib, ps, samplesFed: 0 }, config };
    } finally {
      this.#creating--;
    }
  }

  #putIdle(entry: Entry): void {
    if (this.#closed) this.#free(entry);
    else this.#idle.push(entry);
  }

  #free(entry: Entry): void {
    entry.decoder.lib.free(entry.decoder.ps);
    entry.decoder.lib.cmdLnFree(entry.config);
  }
}

interface Entry {
  readonly decoder: PocketsphinxDecoder;
  readonly config: NativePointer;
}

/** `promise`, or AbortedError as soon as `signal` aborts (the promise itself runs on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
