/**
 * In-band DTMF: the keys a caller presses heard in the call's audio, for peers that send them as tones
 * rather than RFC 4733 events or SIP INFO (a trunk or PBX that did not offer telephone-event).
 *
 * The audio is cut into blocks of 12.8 ms (102 samples at 8 kHz, as common DTMF receivers do) and each block
 * is tested with the Goertzel algorithm at the eight Q.23 frequencies. A block holds a key when, together:
 * - the strongest low-group and high-group tones each stand 8 dB above the other tones of their group,
 * - those two carry at least 80% of the block's energy (speech spreads its energy; a tone pair does not),
 * - neither tone is more than 8 dB weaker than the other (twist), and each is above -36 dBm0.
 * A key starts after two blocks in a row (25.6 ms; Q.24 asks that 40 ms tones be accepted) and ends after two
 * blocks without it (a single dropped block does not split a key). The key is reported when it ends, with how
 * long it sounded.
 *
 * Synchronous and allocation-free per sample: one pass of eight two-pole filters over the samples.
 */

import { DTMF_HIGH_HZ, DTMF_KEYPAD, DTMF_LOW_HZ, ZERO_DBM0_PEAK } from './dtmf-keypad.ts';

const FREQUENCIES = [...DTMF_LOW_HZ, ...DTMF_HIGH_HZ];
const BLOCK_MS = 12.8;
const MIN_PAIR_SHARE = 0.8;
/** 8 dB. */
const RELATIVE_PEAK = 10 ** (-8 / 10);
const MAX_TWIST = 10 ** (8 / 10);
/** Mean square of a -36 dBm0 sine in 16-bit PCM. */
const MIN_TONE_MEAN_SQUARE = ZERO_DBM0_PEAK ** 2 * 10 ** (-36 / 10) * 0.5;

export class InbandDtmfDetector {
  readonly sampleRate: number;
  readonly #onKey: (digit: string, durationMs: number) => void;
  readonly #blockSize: number;
  readonly #coeff = new Float64Array(8);
  readonly #s1 = new Float64Array(8);
  readonly #s2 = new Float64Array(8);
  readonly #shares = new Float64Array(8);
  #energy = 0;
  #filled = 0;
  /** The key of the blocks in a row so far (-1: none), and how many. */
  #run = -1;
  #runBlocks = 0;
  /** The key sounding (-1: none), its blocks, and blocks since it was last heard. */
  #key = -1;
  #keyBlocks = 0;
  #misses = 0;

  constructor(sampleRate: number, onKey: (digit: string, durationMs: number) => void) {
    if (!(sampleRate >= 4000)) throw new RangeError('sampleRate must be at least 4000');
    this.sampleRate = sampleRate;
    this.#onKey = onKey;
    this.#blockSize = Math.round((sampleRate * BLOCK_MS) / 1000);
    FREQUENCIES.forEach((f, i) => (this.#coeff[i] = 2 * Math.cos((2 * Math.PI * f) / sampleRate)));
  }

  /** Feed audio at `sampleRate`, any length. Calls `onKey` as keys end. */
  push(samples: Int16Array): void {
    const s1 = this.#s1;
    const s2 = this.#s2;
    const coeff = this.#coeff;
    for (let n = 0; n < samples.length; n++) {
      const x = samples[n] as number;
      this.#energy += x * x;
      for (let i = 0; i < 8; i++) {
        const s0 = x + (coeff[i] as number) * (s1[i] as number) - (s2[i] as number);
        s2[i] = s1[i] as number;
        s1[i] = s0;
      }
      if (++this.#filled === this.#blockSize) this.#block();
    }
  }

  /** Forget any key in progress (a new stream). */
  reset(): void {
    this.#clearFilters();
    this.#run = -1;
    this.#runBlocks = 0;
    this.#key = -1;
    this.#keyBlocks = 0;
    this.#misses = 0;
  }

  #block(): void {
    const key = this.#classify();
    this.#clearFilters();
    if (key === this.#run) this.#runBlocks++;
    else {
      this.#run = key;
      this.#runBlocks = 1;
    }
    if (this.#key >= 0) {
      if (key === this.#key) {
        this.#keyBlocks += 1 + this.#misses;
        this.#misses = 0;
        return;
      }
      if (++this.#misses < 2) return;
      this.#end();
    }
    if (key >= 0 && this.#runBlocks >= 2) {
      this.#key = key;
      this.#keyBlocks = this.#runBlocks;
      this.#misses = 0;
    }
  }

  #end(): void {
    const digit = DTMF_KEYPAD[this.#key] as string;
    const durationMs = Math.round(this.#keyBlocks * BLOCK_MS);
    this.#key = -1;
    this.#keyBlocks = 0;
    this.#misses = 0;
    this.#onKey(digit, durationMs);
  }

  /** The key this block holds (index into KEYPAD), or -1. */
  #classify(): number {
    const n = this.#blockSize;
    const energy = this.#energy;
    if (energy <= 0) return -1;
    const shares = this.#shares;
    for (let i = 0; i < 8; i++) {
      const a = this.#s1[i] as number;
      const b = this.#s2[i] as number;
      shares[i] = (2 * (a * a + b * b - (this.#coeff[i] as number) * a * b)) / (n * energy);
    }
    let row = 0;
    let rowShare = -1;
    let col = 0;
    let colShare = -1;
    for (let i = 0; i < 4; i++) {
      if ((shares[i] as number) > rowShare) {
        rowShare = shares[i] as number;
        row = i;
      }
      if ((shares[i + 4] as number) > colShare) {
        colShare = shares[i + 4] as number;
        col = i;
      }
    }
    if (rowShare + colShare < MIN_PAIR_SHARE) return -1;
    if (rowShare > colShare * MAX_TWIST || colShare > rowShare * MAX_TWIST) return -1;
    const meanSquare = energy / n;
    if (rowShare * meanSquare < MIN_TONE_MEAN_SQUARE || colShare * meanSquare < MIN_TONE_MEAN_SQUARE) return -1;
    for (let i = 0; i < 4; i++) {
      if (i !== row && (shares[i] as number) > rowShare * RELATIVE_PEAK) return -1;
      if (i !== col && (shares[i + 4] as number) > colShare * RELATIVE_PEAK) return -1;
    }
    return row * 4 + col;
  }

  #clearFilters(): void {
    this.#s1.fill(0);
    this.#s2.fill(0);
    this.#energy = 0;
    this.#filled = 0;
  }
}
