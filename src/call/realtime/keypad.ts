/**
 * Caller DTMF on a speech-to-speech call: keys are collected for `collectMs` after the last one (or up to
 * `#`, which sends at once) and handed over as one text message, worded as the cascaded pipeline words
 * them (`keypadText`), so "1 2 3 4 #" is one answer from the model and not five.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { keypadText } from '../turn-taking.ts';

export interface KeypadOptions {
  readonly clock: Clock;
  readonly collectMs: number;
  /** The keys of one entry, as the text the model is given. */
  readonly onKeys: (text: string, keys: string) => void;
}

export class Keypad {
  readonly #o: KeypadOptions;
  #keys = '';
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: KeypadOptions) {
    this.#o = options;
  }

  press(digit: string): void {
    if (this.#closed) return;
    this.#keys += digit;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (digit === '#') this.#send();
    else this.#timer = this.#o.clock.setTimeout(() => this.#send(), this.#o.collectMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(): void {
    this.#timer = undefined;
    const keys = this.#keys;
    this.#keys = '';
    if (keys !== '') this.#o.onKeys(keypadText(keys), keys);
  }
}
