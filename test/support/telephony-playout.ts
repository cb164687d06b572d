/**
 * A platform's playout queue, as Twilio, Telnyx, Vonage, jambonz and chan_websocket keep one: audio is
 * queued as it arrives and played at real time; a mark is reported when the audio queued before it has
 * played; a flush drops the queue, and what happens to pending marks is the platform's choice (Twilio and
 * Telnyx echo them, jambonz reports them `cleared`, Asterisk forgets them).
 */
export interface PlayoutOptions {
  readonly onPlayed: (name: string) => void;
  /** Called for each pending mark on a flush (absent: forgotten). */
  readonly onCleared?: (name: string) => void;
}

export class PlatformPlayout {
  readonly #o: PlayoutOptions;
  #busyUntil = 0;
  readonly #pending = new Map<string, NodeJS.Timeout>();
  /** Marks reported played, with when. */
  readonly played: Array<{ name: string; at: number }> = [];
  /** Audio queued in total (ms). */
  queuedMs = 0;

  constructor(options: PlayoutOptions) {
    this.#o = options;
  }

  /** Audio still waiting to play, ms. */
  backlogMs(now = performance.now()): number {
    return Math.max(0, this.#busyUntil - now);
  }

  audio(ms: number): void {
    const now = performance.now();
    this.#busyUntil = Math.max(this.#busyUntil, now) + ms;
    this.queuedMs += ms;
  }

  mark(name: string): void {
    const now = performance.now();
    const timer = setTimeout(() => {
      this.#pending.delete(name);
      this.played.push({ name, at: performance.now() });
      this.#o.onPlayed(name);
    }, Math.max(0, this.#busyUntil - now));
    this.#pending.set(name, timer);
  }

  clear(): void {
    this.#busyUntil = performance.now();
    for (const [name, timer] of this.#pending) {
      clearTimeout(timer);
      this.#o.onCleared?.(name);
    }
    this.#pending.clear();
  }

  close(): void {
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }
}
