/**
 * The 24-tap quadrature mirror filter pair of G.722 (table 11), shared by the transmit
 * (analysis) and receive (synthesis) sides: both push two samples and take two dot products
 * of the last 24 against the symmetric half of the coefficients.
 */

/** The first half of the symmetric QMF coefficients h0..h11 (ITU-T G.722 table 11). */
const QMF = new Int32Array([3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]);

/** How many past samples the filter needs besides the two just pushed. */
const TAPS_KEPT = 22;
/** History length: a long linear buffer moved back rarely instead of a ring indexed per tap. */
const HISTORY = 1024;

/** Sliding 24-sample history and the filter outputs of the last push. */
export class QmfHistory {
  private readonly buf = new Int16Array(HISTORY);
  private pos = TAPS_KEPT;
  /** Sum over the odd-position taps (reversed coefficients) after the last push. */
  out1 = 0;
  /** Sum over the even-position taps after the last push. */
  out2 = 0;

  reset(): void {
    this.buf.fill(0);
    this.pos = TAPS_KEPT;
    this.out1 = 0;
    this.out2 = 0;
  }

  /** Append two samples (stored as int16, like the reference) and filter the newest 24. */
  push(a: number, b: number): void {
    const buf = this.buf;
    let pos = this.pos;
    buf[pos] = a;
    buf[pos + 1] = b;
    pos += 2;
    const base = pos - 24;
    let x1 = 0;
    let x2 = 0;
    for (let i = 0; i < 12; i++) {
      x2 += (buf[base + 2 * i] as number) * (QMF[i] as number);
      x1 += (buf[base + 2 * i + 1] as number) * (QMF[11 - i] as number);
    }
    this.out1 = x1;
    this.out2 = x2;
    if (pos >= HISTORY) {
      buf.copyWithin(0, pos - TAPS_KEPT, pos);
      pos = TAPS_KEPT;
    }
    this.pos = pos;
  }
}
