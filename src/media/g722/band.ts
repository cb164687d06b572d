/**
 * G.722 sub-band ADPCM state: the block 4 adaptive predictor (two-pole, six-zero) and the
 * quantiser scale-factor adaptation of ITU-T G.722 sections 3.5 to 3.6 (blocks 3L/3H, 4L/4H).
 *
 * The arithmetic follows the ITU fixed-point reference exactly, as ffmpeg's and spandsp's
 * implementations do, so that bitstreams and decoded samples are interchangeable bit for bit:
 * every `>>` is an arithmetic shift on a 32-bit int and every clip is where the reference has it.
 */

/** Inverse log2 table of block 3L/3H (ILB), 2048 * 2^(i/32). */
const INV_LOG2 = new Int16Array([
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
]);

/** Log scale-factor step of the lower band, by the 4-bit truncated code (W_L of table 14 via RIL4). */
const LOW_LOG_STEP = new Int16Array([-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60]);

/** Log scale-factor step of the higher band by the magnitude bit (W_H of table 16). */
const HIGH_LOG_STEP = new Int16Array([798, -214]);

/** Lower band inverse quantiser on 4 bits (QQ4 of table 14, signed), for the predictor update. */
export const LOW_INV_QUANT4 = new Int16Array([
  0, -2557, -1612, -1121, -786, -530, -323, -150, 2557, 1612, 1121, 786, 530, 323, 150, 0,
]);

/** Lower band inverse quantiser on 6 bits (QQ6 of table 17, signed), for the decoder output. */
export const LOW_INV_QUANT6 = new Int16Array([
  -17, -17, -17, -17, -3101, -2738, -2376, -2088, -1873, -1689, -1535, -1399, -1279, -1170, -1072, -982,
  -899, -822, -750, -682, -618, -558, -501, -447, -396, -347, -300, -254, -211, -170, -130, -91,
  3101, 2738, 2376, 2088, 1873, 1689, 1535, 1399, 1279, 1170, 1072, 982, 899, 822, 750, 682,
  618, 558, 501, 447, 396, 347, 300, 254, 211, 170, 130, 91, 54, 17, -54, -17,
]);

/** Higher band inverse quantiser on 2 bits (QQ2 of table 18, signed). */
export const HIGH_INV_QUANT = new Int16Array([-926, -202, 926, 202]);

function clip(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function clip16(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/** Block 3L/3H: scale factor from the log factor (already offset by the band's constant). */
function linearScale(logFactor: number): number {
  const wd1 = INV_LOG2[(logFactor >> 6) & 31] as number;
  const shift = logFactor >> 11;
  return shift < 0 ? wd1 >> -shift : wd1 << shift;
}

/** State of one sub-band's ADPCM: predictor memories and the quantiser scale factor. */
export class G722Band {
  /** Predictor output s (block 4): the estimate of the next sub-band sample. */
  sPredictor = 0;
  /** Output of the six-zero section (sz). */
  sZero = 0;
  /** Signs (1 = negative) of the two previous partially reconstructed signals p. */
  private part0 = 0;
  private part1 = 0;
  /** Previous reconstructed signal r, doubled as in the reference. */
  private prevReconst = 0;
  /** Pole coefficients a1, a2. */
  private pole0 = 0;
  private pole1 = 0;
  /** Quantised difference signals d(n-1..n-6), doubled and clipped to int16. */
  private readonly diffMem = new Int32Array(6);
  /** Zero coefficients b1..b6 (int16 in the reference; the Int16Array keeps its wrap). */
  private readonly zeroMem = new Int16Array(6);
  /** Log scale factor (nabla). */
  private logFactor = 0;
  /** Linear scale factor (delta), used by both the quantiser and the inverse quantiser. */
  scaleFactor: number;
  private readonly initialScale: number;

  constructor(initialScale: number) {
    this.initialScale = initialScale;
    this.scaleFactor = initialScale;
  }

  /** Back to the state at reset of G.722 section 3.8 (all zero, minimum scale factor). */
  reset(): void {
    this.sPredictor = 0;
    this.sZero = 0;
    this.part0 = 0;
    this.part1 = 0;
    this.prevReconst = 0;
    this.pole0 = 0;
    this.pole1 = 0;
    this.diffMem.fill(0);
    this.zeroMem.fill(0);
    this.logFactor = 0;
    this.scaleFactor = this.initialScale;
  }

  /** Block 4: update the pole and zero predictors with the dequantised difference `d`. */
  private predict(d: number): void {
    // Sign of the partially reconstructed signal p = sz + d, compared with its two predecessors.
    const part = this.sZero + d < 0 ? 1 : 0;
    const sg0 = part !== this.part0 ? 1 : -1;
    const sg1 = part === this.part1 ? 1 : -1;
    this.part1 = this.part0;
    this.part0 = part;

    // Pole section: a2 first (it uses the old a1), then a1 bounded by the stability limit 1 - 2^-4 - a2.
    this.pole1 = clip(((sg0 * clip(this.pole0, -8191, 8191)) >> 5) + (sg1 << 7) + ((this.pole1 * 127) >> 7), -12288, 12288);
    const limit = 15360 - this.pole1;
    this.pole0 = clip(-192 * sg0 + ((this.pole0 * 255) >> 8), -limit, limit);

    // Zero section: leak each b_i and nudge it by the sign agreement of d(n) and d(n-i).
    const zm = this.zeroMem;
    const dm = this.diffMem;
    for (let i = 0; i < 6; i++) {
      const leaked = ((zm[i] as number) * 255) >> 8;
      zm[i] = d === 0 ? leaked : leaked + (((dm[i] as number) ^ d) < 0 ? -128 : 128);
    }
    for (let i = 5; i > 0; i--) dm[i] = dm[i - 1] as number;
    dm[0] = clip16(d << 1);

    let sz = 0;
    for (let i = 5; i >= 0; i--) sz += ((zm[i] as number) * (dm[i] as number)) >> 15;
    this.sZero = sz;

    const reconst = clip16((this.sPredictor + d) << 1);
    this.sPredictor = clip16(sz + ((this.pole0 * reconst) >> 15) + ((this.pole1 * this.prevReconst) >> 15));
    this.prevReconst = reconst;
  }

  /** Lower band update after coding a sample, with the 6-bit code truncated to 4 bits (`ilow >> 2`). */
  updateLow(ilow4: number): void {
    this.predict((this.scaleFactor * (LOW_INV_QUANT4[ilow4] as number)) >> 10);
    this.logFactor = clip(((this.logFactor * 127) >> 7) + (LOW_LOG_STEP[ilow4] as number), 0, 18432);
    this.scaleFactor = linearScale(this.logFactor - (8 << 11));
  }

  /** Higher band update with the dequantised difference `dhigh` of the 2-bit code `ihigh`. */
  updateHigh(dhigh: number, ihigh: number): void {
    this.predict(dhigh);
    this.logFactor = clip(((this.logFactor * 127) >> 7) + (HIGH_LOG_STEP[ihigh & 1] as number), 0, 22528);
    this.scaleFactor = linearScale(this.logFactor - (10 << 11));
  }
}
