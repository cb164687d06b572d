import type { Logger } from '../../core/logger.ts';

/**
 * Bad input from one platform connection, counted by kind and logged at most once a second (a peer
 * sending garbage 50 times a second earns one warning a second, with the count), so bad input never
 * floods the log and never stops the call by itself.
 */
export class ProtocolIssues {
  readonly #logger: Logger;
  readonly #counts = new Map<string, number>();
  readonly #now: () => number;
  #lastLog = -Infinity;
  #unlogged = 0;

  constructor(logger: Logger, now: () => number = () => performance.now()) {
    this.#logger = logger;
    this.#now = now;
  }

  /** One problem: `kind` is a stable counter name (`malformed`, `unknownEvent`, ...), `detail` a short safe text. */
  note(kind: string, detail: string): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    const now = this.#now();
    if (now - this.#lastLog < 1000) {
      this.#unlogged++;
      return;
    }
    this.#lastLog = now;
    this.#logger.warn({ kind, detail, suppressed: this.#unlogged }, 'bad input from the telephony platform');
    this.#unlogged = 0;
  }

  count(kind: string): number {
    return this.#counts.get(kind) ?? 0;
  }

  stats(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
