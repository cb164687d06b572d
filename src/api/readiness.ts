/**
 * `/readyz`: whether this gateway should be sent calls. Named checks (listeners bound, models loaded, storage
 * answering and writable, not draining) are run on demand with a deadline each; slow ones are cached briefly so
 * a load balancer probing every second costs one check per `cacheMs`. Any check false or failing: not ready.
 */
import { access, constants, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What /readyz answers. */
export interface ReadyReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export type ReadyCheck = () => boolean | Promise<boolean>;

export class Readiness {
  readonly #checks: ReadonlyArray<readonly [string, ReadyCheck]>;
  readonly #cacheMs: number;
  readonly #timeoutMs: number;
  #cached: { at: number; report: ReadyReport } | undefined;
  #running: Promise<ReadyReport> | undefined;

  constructor(checks: Readonly<Record<string, ReadyCheck>>, options: { cacheMs?: number; timeoutMs?: number } = {}) {
    this.#checks = Object.entries(checks);
    this.#cacheMs = options.cacheMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** The checks' results (cached for `cacheMs`; a check that throws or times out counts as false). */
  report(): Promise<ReadyReport> {
    const now = performance.now();
    if (this.#cached !== undefined && now - this.#cached.at < this.#cacheMs) return Promise.resolve(this.#cached.report);
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Forget the cached result (a state change the next probe must see, such as the start of a drain). */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #run(): Promise<ReadyReport> {
    const results = await Promise.all(this.#checks.map(async ([name, check]) => [name, await this.#bounded(check)] as const));
    const checks = Object.fromEntries(results);
    const report = { ready: results.every(([, ok]) => ok), checks };
    this.#cached = { at: performance.now(), report };
    return report;
  }

  async #bounded(check: ReadyCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(check),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#timeoutMs);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A check that `dir` takes a write (a small probe file is rewritten). */
export function writableDir(dir: string): ReadyCheck {
  return async () => {
    await access(dir, constants.W_OK);
    await writeFile(join(dir, '.callroom-ready'), String(Date.now()));
    return true;
  };
}
